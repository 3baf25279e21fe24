"""A dense terminal (xterm at 8 pt, 58 rows of `ls -l`, drawn by a real X server, devtools/real_screens.py)
read by the real OCR: every row is said as one line, left to right. The detector cuts such rows into boxes at
different places; a strip that happened to be empty in most rows was taken for a column gutter crossed by
"titles", and rows came out in pieces out of order ("2025 adduser", then "drwxr-xr-x ... May 20")."""
from __future__ import annotations

import re
import subprocess

import pytest

from describe_aloud.engine.ocr import OcrEngine
from devtools.real_screens import build_screens

pytestmark = pytest.mark.xvfb
# A row of `ls -l`: its mode first, its date (a year or a time) and its name (maybe a link's target) last.
# The OCR misreads some letters ("r0t", "0ct"), never the shape of the row.
ROW = re.compile(r"^[dl-].*(\d{4}|\d{1,2}:\d{2}) \S+( -> \S+)?$")


@pytest.fixture(scope="module")
def lines(tmp_path_factory):
    from PIL import Image

    built = build_screens(tmp_path_factory.mktemp("dense-terminal"), names={"xterm-dense-small"})
    assert built, "xterm is a test package (devtools/setup.sh)"
    return [line.text for line in OcrEngine().read(Image.open(built[0].path).convert("RGB"))]


def test_each_row_of_a_dense_terminal_is_read_as_one_line_in_order(lines):
    rows = [line for line in lines if "root" in line or re.search(r"\d{4}", line)]
    assert len(rows) >= 45  # 58 rows on screen; pieces of rows made 244 lines
    broken = [line for line in rows if not ROW.match(line)]
    assert len(broken) <= 2, broken[:10]
    # The names in the order ls listed them (the same environment as the xterm's, so the same collation).
    listed = subprocess.run(["sh", "-c", "ls /usr/share/doc | head -n 58"], capture_output=True, text=True,
                            check=True).stdout.split()
    read = [line.split(" -> ")[0].split()[-1] for line in rows]
    places = [listed.index(name) for name in read if name in listed]
    assert len(places) >= 40 and places == sorted(places)
