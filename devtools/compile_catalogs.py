"""Compile engine/locale/*/LC_MESSAGES/*.po into .mo for a checkout (a wheel build does the same in setup.py).

Run with the .venv's python (it needs Babel): `python devtools/compile_catalogs.py [--if-stale]`. With
--if-stale nothing is done when every .mo is newer than its .po (devtools/setup.sh runs it on each start).
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def stale(locale_dir: Path) -> bool:
    for po in locale_dir.glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            return True
    return False


def main(argv: list[str]) -> int:
    spec = importlib.util.spec_from_file_location("describe_aloud_setup", REPO / "setup.py")
    setup_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup_module)  # defines compile_catalogs; setup() runs only as __main__
    locale_dir = setup_module.LOCALE_DIR
    if "--if-stale" in argv and not stale(locale_dir):
        return 0
    for mo in setup_module.compile_catalogs(locale_dir):
        print(f"compiled {mo.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
