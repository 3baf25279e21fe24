"""Low-vision users run at 200 %: at QT_FONT_DPI=192 (200 % text) and at QT_SCALE_FACTOR=2, every window of
the app fits a 1280×800 screen: its minimum size (scroll areas, wrapping buttons) is measured in device
pixels in a process started at that scale, and a screenshot of each is written to tests/output/."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREEN = (1280, 800)


@pytest.mark.parametrize("scale", [{"QT_FONT_DPI": "192"}, {"QT_SCALE_FACTOR": "2"}], ids=["text200", "scale2"])
def test_every_window_fits_a_1280x800_screen_at_200_percent(scale):
    out = REPO / "tests" / "output" / f"fit_{'_'.join(scale)}"
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **scale)
    done = subprocess.run([sys.executable, str(REPO / "tests" / "gui" / "clients" / "measure_windows.py"), str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    sizes = json.loads(done.stdout.strip().splitlines()[-1])
    assert sizes.pop("main_buttons_clear_of_status") is True
    assert set(sizes) == {"main", "settings", "history", "batch"}
    too_big = {name: size for name, size in sizes.items() if size[0] > SCREEN[0] or size[1] > SCREEN[1]}
    assert not too_big, f"windows larger than {SCREEN}: {too_big} (all: {sizes})"
    assert all((out / f"fit_{name}.png").stat().st_size > 0 for name in sizes)
