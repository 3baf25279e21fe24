"""OCR: real rapidocr on images drawn with Pillow (few, small: ~0.5 s each), and the reading-order rules."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from describe_aloud.engine.ocr import OcrEngine, _Piece, _pieces_from_result, reading_order
from describe_aloud.engine.ocr_engines import ENGINE_ONNXRUNTIME, OcrSettings
from tests.fixtures.images import LEFT_COLUMN, RIGHT_COLUMN, text_image, two_column_image


@pytest.fixture(scope="module")
def ocr() -> OcrEngine:
    return OcrEngine()


def _texts(lines) -> list[str]:
    return [line.text for line in lines]


# -- real OCR ------------------------------------------------------------------------------------------

def test_two_columns_are_read_column_by_column(ocr):
    lines = ocr.read(two_column_image(title="Weekend plans"))
    assert _texts(lines) == ["Weekend plans", *LEFT_COLUMN, *RIGHT_COLUMN]
    assert all(line.confidence >= 0.5 for line in lines)
    # Boxes are in image pixels: the title is above the columns, the right column right of the left.
    title, first_left, first_right = lines[0], lines[1], lines[4]
    assert title.box[3] <= first_left.box[1]
    assert first_left.box[2] < first_right.box[0]
    assert 300 < first_right.box[0] < 400


def test_a_read_during_the_background_warm_up_waits_for_it_and_reads_everything():
    """The app warms OCR up on a helper thread while the captioner loads; a first read that comes early
    must not race the warm-up on the same sessions, and the warm-up is done once."""
    engine = OcrEngine()
    runs = []
    real_engine = engine._engine

    def counting_engine():
        ocr = real_engine()

        def run(array):
            runs.append(array.shape)
            return ocr(array)

        return run

    engine._engine = counting_engine
    thread = engine.warm_up_in_background()
    lines = engine.read(two_column_image(title="Weekend plans"))
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert _texts(lines) == ["Weekend plans", *LEFT_COLUMN, *RIGHT_COLUMN]
    engine.warm_up()  # already warm: no second warm-up run
    assert len(runs) == 2  # one warm-up, one read


def test_idle_ocr_threads_sleep_so_the_caption_that_follows_gets_the_cores():
    """On onnxruntime (where OpenVINO is not installed), rapidocr's sessions are replaced by ones whose idle
    threads do not spin (see engine.ocr._sessions_without_spinning), the classifier's too when it is on;
    the text is still read."""
    for use_cls in (False, True):
        ocr = OcrEngine(settings=OcrSettings(engine=ENGINE_ONNXRUNTIME, use_cls=use_cls))
        assert _texts(ocr.read(text_image(["Silver river"]))) == ["Silver river"]
        assert ocr.engine_name == ENGINE_ONNXRUNTIME
        parts = ("text_det", "text_cls", "text_rec") if use_cls else ("text_det", "text_rec")
        for part in parts:
            session = getattr(ocr._engine(), part).session.session
            assert session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_large_image_is_downscaled_and_boxes_map_back(ocr, monkeypatch):
    monkeypatch.setattr(ocr, "max_side", 800)  # the image is read at half size
    img = Image.new("RGB", (1600, 300), "white")
    img.paste(text_image(["Silver river"], size=(400, 100), font_size=56, origin=(10, 10)), (1100, 150))
    lines = ocr.read(img)
    assert _texts(lines) == ["Silver river"]
    x0, y0, x1, y1 = lines[0].box
    # The ink is at x 1114..1413, y 169..212 of the full image; the detector's box has a margin around it.
    assert 1060 < x0 <= 1114 and 115 < y0 <= 169 and 1413 <= x1 < 1470 and 212 <= y1 < 270


def test_an_image_without_text_gives_no_lines(ocr):
    assert ocr.read(Image.new("RGB", (200, 100), (30, 120, 200))) == []


# -- reading order (no model) --------------------------------------------------------------------------

def _p(text, x0, y0, x1, y1, confidence=0.99) -> _Piece:
    return _Piece(text, x0, y0, x1, y1, confidence)


def test_pieces_on_one_line_are_joined_left_to_right():
    lines = reading_order([_p("world", 120, 11, 200, 41), _p("Hello", 10, 10, 100, 40), _p("next", 10, 60, 80, 90)])
    assert _texts(lines) == ["Hello world", "next"]
    assert lines[0].box == (10, 10, 200, 41)


def test_columns_are_read_left_then_right_and_a_spanning_title_first():
    pieces = [
        _p("Title over both", 20, 10, 600, 40),
        _p("L1", 20, 60, 250, 90), _p("R1", 350, 60, 600, 90),
        _p("L2", 20, 110, 250, 140), _p("R2", 350, 110, 600, 140),
        _p("Footer across all", 20, 170, 600, 200),
        _p("L3", 20, 220, 250, 250), _p("R3", 350, 220, 600, 250),
    ]
    assert _texts(reading_order(pieces)) == ["Title over both", "L1", "L2", "R1", "R2", "Footer across all", "L3", "R3"]


def test_a_menu_bar_above_a_sidebar_and_a_page_is_read_first_and_whole():
    menu = [_p("File", 10, 8, 50, 35), _p("Edit", 90, 8, 133, 35), _p("View Help", 170, 8, 300, 35)]
    sidebar = [_p(w, 16, 68 + 40 * i, 100, 95 + 40 * i) for i, w in enumerate(["Inbox", "Drafts", "Trash"])]
    page = [_p("Subject: Holiday", 256, 60, 520, 90), _p("Dear Alex,", 257, 120, 550, 145),
            _p("See you, Maria", 257, 155, 470, 180)]
    lines = _texts(reading_order(page + sidebar + menu))
    assert lines == ["File", "Edit", "View Help", "Inbox", "Drafts", "Trash", "Subject: Holiday", "Dear Alex,",
                     "See you, Maria"]


def test_ordinary_word_gaps_are_not_column_gutters():
    # Three rows, each two pieces 10 px apart (less than a line height): read row by row.
    pieces = [_p(f"a{i}", 10, 10 + 40 * i, 100, 40 + 40 * i) for i in range(3)]
    pieces += [_p(f"b{i}", 110, 10 + 40 * i, 200, 40 + 40 * i) for i in range(3)]
    assert _texts(reading_order(pieces)) == ["a0 b0", "a1 b1", "a2 b2"]


def test_noise_is_dropped_and_boxes_are_scaled():
    quad = lambda x0, y0, x1, y1: [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]  # noqa: E731
    result = SimpleNamespace(
        boxes=np.array([quad(1, 1, 50, 10), quad(1, 20, 5, 30), quad(1, 40, 5, 50), quad(1, 60, 50, 70),
                        quad(1, 80, 5, 90)]),
        txts=("Good text", "|", "7", "Blurry", "x"),
        scores=(0.95, 0.99, 0.97, 0.3, 0.6),
    )
    pieces = _pieces_from_result(result, scale=2.0)
    assert [p.text for p in pieces] == ["Good text", "7"]
    assert (pieces[0].x0, pieces[0].y0, pieces[0].x1, pieces[0].y1) == (2, 2, 100, 20)
    assert _pieces_from_result(SimpleNamespace(boxes=None, txts=None, scores=None), 1.0) == []


def test_boxes_stay_inside_the_image():
    result = SimpleNamespace(boxes=np.array([[[-4, -3], [130, -3], [130, 40], [-4, 40]]]), txts=("Edge",),
                             scores=(0.9,))
    (piece,) = _pieces_from_result(result, 1.0, (120, 36))
    assert (piece.x0, piece.y0, piece.x1, piece.y1) == (0, 0, 120, 36)
