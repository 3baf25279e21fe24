"""A dense screen's first lines are handed over while the rest is recognised (engine.ocr_two_step), on real
screens (real programs on a real X server, devtools/real_screens.py) read by the real rapidocr: the first lines
come before most of the text is recognised, they are the first lines of the whole text, and the whole text is
exactly what the one-step read gives. What the user hears of it: each line once, in order, then the caption."""
from __future__ import annotations

import pytest

from describe_aloud.engine import render
from describe_aloud.engine.describer import Describer
from describe_aloud.engine.ocr import OcrEngine
from describe_aloud.engine.ocr_two_step import FIRST_BLOCK_BOXES
from devtools.real_screens import build_screens

pytestmark = pytest.mark.xvfb
NAMES = {"xterm-dense-small", "gtk-file-list", "xterm-few-lines", "gtk-message"}


@pytest.fixture(scope="module")
def screens(tmp_path_factory):
    from PIL import Image

    built = build_screens(tmp_path_factory.mktemp("real-screens"), names=NAMES)
    assert {s.name for s in built} == NAMES, "xterm and zenity are test packages (devtools/setup.sh)"
    return {s.name: Image.open(s.path).convert("RGB") for s in built}


@pytest.fixture(scope="module")
def ocr():
    engine = OcrEngine()
    engine.warm_up()
    return engine


class CountingSession:
    """The recogniser's own session, passed through, counting the crops it has recognised."""

    def __init__(self, session) -> None:
        self.session = session
        self.crops = 0

    def __call__(self, batch):
        self.crops += len(batch)
        return self.session(batch)


def _as_tuples(lines):
    return [(line.text, line.box, line.confidence, line.block, line.index) for line in lines]


def test_a_dense_terminal_is_read_as_in_one_step_and_whatever_is_said_early_begins_it(screens, ocr):
    # Its rows, read whole (engine.reading.order), are wide lines without a full stop: the early handover
    # keeps them back as a sentence that may go on (engine.ocr._sentence_goes_on), so it may hand over none.
    image = screens["xterm-dense-small"]
    handed: list[list] = []
    two_steps = ocr.read(image, on_first_lines=handed.append)
    assert _as_tuples(two_steps) == _as_tuples(ocr.read(image))
    for first in handed:
        assert [line.text for line in first] == [line.text for line in two_steps[:len(first)]]


@pytest.mark.parametrize("upright", [False, True], ids=["classifier", "upright"])
@pytest.mark.parametrize("name", ["gtk-file-list"])
def test_a_dense_screens_first_lines_come_first_and_the_whole_text_is_the_one_step_reads(screens, ocr, name,
                                                                                           upright):
    image = screens[name]
    one_step = ocr.read(image, upright=upright)
    rec = ocr._ocr.text_rec
    counting = CountingSession(rec.session)
    rec.session = counting
    handed: list[tuple[list, int]] = []
    try:
        two_steps = ocr.read(image, on_first_lines=lambda lines: handed.append((lines, counting.crops)),
                             upright=upright)
    finally:
        rec.session = counting.session
    assert _as_tuples(two_steps) == _as_tuples(one_step)  # same lines, boxes, scores, order
    assert len(handed) == 1
    first, recognised_then = handed[0]
    assert first and len(first) < len(two_steps)
    assert [line.text for line in first] == [line.text for line in two_steps[:len(first)]]
    assert recognised_then <= FIRST_BLOCK_BOXES < counting.crops  # handed over before the rest was read


@pytest.mark.parametrize("name", ["xterm-few-lines", "gtk-message"])
def test_a_screen_with_few_lines_is_read_in_one_step_as_before(screens, ocr, name):
    handed = []
    assert _as_tuples(ocr.read(screens[name], on_first_lines=handed.append)) == _as_tuples(ocr.read(screens[name]))
    assert handed == []


def test_describing_a_dense_screen_says_each_line_once_in_reading_order(screens, ocr):
    partials = []
    describer = Describer(None, ocr=ocr)
    final = describer.describe(screens["gtk-file-list"], kind_hint="screen", on_text=partials.append)
    assert len(partials) == 2  # the first lines, then all of them, before the (missing) caption
    first, whole = partials
    assert 0 < len(first.text_lines) < len(whole.text_lines) == len(final.text_lines)
    said = render.describe(first)
    heard = [said.speech]
    for rendering in (render.describe(whole), render.describe(final)):  # what gui.spoken_flow says
        rest = rendering.after(said)
        said = said + rest
        heard.append(rest.speech)
    speech = " ".join(part for part in heard if part)
    assert speech.count("Text:") == 1 and speech.count("Screen with text.") == 1
    assert speech.startswith(render.describe(first).speech)
    assert speech.endswith(render.describe(final).parts[-1].speech)  # why there is no caption, last
    positions = [speech.find(line.text) for line in final.text_lines]
    assert -1 not in positions and positions == sorted(positions)  # every line, in reading order
    # Nothing twice: as many words as the whole description has.
    assert len(speech.split()) == len(render.describe(final).speech.split())


def test_a_photo_or_a_drop_without_a_kind_gets_its_text_once(screens, ocr):
    partials = []
    Describer(None, ocr=ocr).describe(screens["gtk-file-list"], on_text=partials.append)
    assert len(partials) <= 1


def test_a_rapidocr_whose_inner_steps_changed_still_reads_everything_in_one_step(screens, ocr, monkeypatch):
    import describe_aloud.engine.ocr as ocr_module

    def changed(*args, **kwargs):
        raise TypeError("postprocess_op() got an unexpected keyword argument 'wh_ratio_list'")

    monkeypatch.setattr(ocr_module, "read_in_two_steps", changed)
    image = screens["gtk-file-list"]
    handed = []
    assert _as_tuples(ocr.read(image, on_first_lines=handed.append)) == _as_tuples(ocr.read(image))
    assert handed == []  # no early lines, but all of the text


def _page(rows: list[tuple[str, str]], *, right_x: int | None = 700, line_gap: int = 40):
    from PIL import Image, ImageDraw

    from tests.fixtures.images import font

    page = Image.new("RGB", (1280, 720), "white")
    draw = ImageDraw.Draw(page)
    for i, (left, right) in enumerate(rows):
        draw.text((60, 30 + i * line_gap), left, font=font(22), fill="black")
        if right and right_x is not None:
            draw.text((right_x, 30 + i * line_gap), right, font=font(22), fill="black")
    return page


def test_a_name_and_size_list_is_not_said_as_a_column_first_and_then_again_as_a_table(ocr):
    # Before the sizes are read the list looks like two columns; read, the numbers make it a table.
    names = ["Documents", "Pictures", "Downloads", "Music", "Videos", "Desktop", "Projects", "Archive",
             "Templates", "Public", "Backups", "Notes"]
    sizes = ["12.4 MB", "3.1 GB", "845 KB", "7.9 GB", "21.0 GB", "1.2 MB", "640 MB", "2.5 GB", "12 KB",
             "0 KB", "88.1 GB", "4.4 MB"]
    page = _page(list(zip(names, sizes)))
    handed = []
    whole = ocr.read(page, on_first_lines=handed.append)
    assert [line.text for line in whole] == [line.text for line in ocr.read(page)]
    assert "\t" in whole[0].text, [line.text for line in whole]  # read as a table: name, size
    for first in handed:  # whatever is said early is where the whole text has it
        assert [line.text for line in first] == [line.text for line in whole[:len(first)]]


def test_an_early_handover_does_not_cut_a_sentence_of_a_paragraph_in_two(ocr):
    words = ("the settings page lets you choose a language for the whole application and for the "
             "descriptions it speaks and the voice that reads them to you when a screen reader is not "
             "running on this computer so that you hear everything in the language you chose").split()
    rows, line = [], []
    for word in words * 6:
        line.append(word)
        if len(" ".join(line)) > 80:
            rows.append(" ".join(line))
            line = []
    rows = rows[:15]
    rows[1] += " again."  # the only sentence end among the first lines
    page = _page([(row, "") for row in rows], right_x=None, line_gap=38)
    handed = []
    whole = ocr.read(page, on_first_lines=handed.append)
    assert len(whole) == 15, [line.text for line in whole]
    assert len(handed) == 1
    first = handed[0]
    assert [line.text for line in first] == [line.text for line in whole[:2]]  # up to the sentence's end
