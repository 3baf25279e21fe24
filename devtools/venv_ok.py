"""Exit 0 when this Python environment holds describe-aloud from this checkout and every requirement (with
the extras named on the command line) at a version pyproject.toml admits; otherwise say what is wrong and
exit 1. Used by devtools/setup.sh so that a half-made .venv is repaired rather than trusted.

Run with the environment's own python: `python devtools/venv_ok.py test`. Imports nothing heavy.
"""
from __future__ import annotations

import importlib.metadata as md
import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def problems(extras: list[str]) -> list[str]:
    try:
        from packaging.requirements import Requirement
    except ImportError:
        try:
            from pip._vendor.packaging.requirements import Requirement  # pip always carries it
        except ImportError:
            return ["no packaging library"]
    try:
        requires = md.requires("describe-aloud") or []
    except md.PackageNotFoundError:
        return ["describe-aloud is not installed"]
    found: list[str] = []
    for line in requires:
        req = Requirement(line)
        if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in ["", *extras]):
            continue
        try:
            version = md.version(req.name)
        except md.PackageNotFoundError:
            found.append(f"{req.name} is missing")
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            found.append(f"{req.name} {version} does not satisfy {req.specifier}")
    spec = importlib.util.find_spec("describe_aloud.engine")
    if spec is None or spec.origin is None:
        found.append("describe_aloud.engine cannot be imported")
    elif Path(spec.origin).resolve().parent != REPO / "engine":
        found.append(f"describe_aloud comes from {Path(spec.origin).parent}, not from this checkout")
    return found


if __name__ == "__main__":
    wrong = problems(sys.argv[1:])
    for problem in wrong:
        print(f"  {problem}", file=sys.stderr)
    sys.exit(1 if wrong else 0)
