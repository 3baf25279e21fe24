"""`batch DIR --ray` as a user types it, on a machine without Ray: a clear sentence and exit code 2."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fixtures.photo_folder import make_many_images

ROOT = Path(__file__).resolve().parents[2]


def test_ray_option_without_ray_installed_says_what_to_install(tmp_path):
    folder = tmp_path / "photos"
    make_many_images(folder, 2)
    # A `ray` that cannot be imported, found before the real one: what a machine without the extra sees.
    blocker = tmp_path / "no-ray" / "ray"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('No module named ray')\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker.parent), str(ROOT)])}
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "batch", str(folder), "--ray"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "pip install 'describe-aloud[ray]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (folder / "describe-aloud-results.csv").exists()


def test_ray_options_are_checked_before_anything_starts(tmp_path):
    folder = tmp_path / "photos"
    make_many_images(folder, 1)
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "batch", str(folder), "--shard-size", "0",
                             "--ray"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "--shard-size must be 1 or more" in result.stderr
