"""Every DESCRIBE_ALOUD_* variable is read in engine/environment.py only, and documented."""
from __future__ import annotations

import re
from pathlib import Path

from describe_aloud.engine import environment

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"DESCRIBE_ALOUD_[A-Z0-9_]+")


def test_variables_are_read_only_through_the_environment_module():
    knobs = {knob.name for knob in environment.KNOBS}
    readers = []
    for folder in ("engine", "gui", "cli"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == ROOT / "engine" / "environment.py":
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                if "environ" in line and NAME.search(line):
                    readers.append(f"{path.relative_to(ROOT)}: {line.strip()}")
                for name in NAME.findall(line):
                    assert name in knobs, f"{path.relative_to(ROOT)} names {name}, which engine/environment.py does not define"
    assert readers == []


def test_every_variable_is_documented():
    documented = set(NAME.findall((ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")))
    assert {knob.name for knob in environment.KNOBS} <= documented


def test_a_knob_reads_the_environment_when_asked(monkeypatch):
    monkeypatch.setenv(environment.AUDIO_PLAYER.name, "  null ")
    assert environment.AUDIO_PLAYER.get() == "null"
    monkeypatch.setenv(environment.AUDIO_PLAYER.name, "")
    assert environment.AUDIO_PLAYER.get() is None
