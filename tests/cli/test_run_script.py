"""`./run.sh` as the README's quick start uses it, called from another folder: the file names given to it are
the caller's (it must not change to its own folder before handing them on)."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_run_sh_keeps_the_callers_folder_for_relative_file_names(image_files, tiny_git_dir):
    folder = image_files["blank"].parent
    done = subprocess.run(
        ["bash", str(REPO / "run.sh"), "describe", image_files["blank"].name, "--json", "--no-ocr",
         "--model", str(tiny_git_dir)],
        cwd=folder, env={**os.environ, "NO_APT": "1"}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout.strip().splitlines()[-1])
    assert record["path"] == "grey.png" and record["kind"] == "blank" and record["error"] is None
