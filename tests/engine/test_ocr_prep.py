"""The OCR's own pixel work (engine.ocr_prep) gives rapidocr's detector exactly the values rapidocr's own
pre-processing gives it, so the text read is the same, and a capture of the screen skips the angle classifier
(upright text) while a photo or a file keeps it (a page photographed upside down is still read)."""
from __future__ import annotations

import numpy as np
import pytest

from describe_aloud.engine import ocr as ocr_module
from describe_aloud.engine import ocr_prep
from describe_aloud.engine.describer import Describer
from describe_aloud.engine.ocr import OcrEngine
from tests.fixtures.images import text_image, two_column_image

SCREEN_LINES = ["File Edit View Help", "Meeting on Tuesday at ten", "Budget for travel was approved"]


@pytest.fixture(scope="module")
def ocr():
    engine = OcrEngine()
    engine.warm_up()
    return engine


def _bits(array):
    return array.view(np.uint32)


@pytest.mark.parametrize("limit_type, side", [("min", 736), ("max", 736), ("max", 1088)])
def test_the_detector_input_is_rapidocrs_own_bit_for_bit(limit_type, side):
    from rapidocr.ch_ppocr_det.utils import DetPreProcess

    screen = text_image(SCREEN_LINES, size=(1280, 720), background=(30, 60, 120), ink=(250, 240, 200))
    bgr = ocr_prep.bgr_array(screen)
    exact = ocr_prep.exact_det_preprocess_class()
    assert exact is not None
    args = (side, limit_type, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])
    theirs, ours = DetPreProcess(*args)(bgr), exact(*args)(bgr)
    assert ours.dtype == theirs.dtype == np.float32 and ours.shape == theirs.shape
    assert np.array_equal(_bits(ours), _bits(theirs))
    # The strided view the app used to hand over has the same pixels as the contiguous copy.
    view = np.asarray(screen)[:, :, ::-1]
    assert bgr.flags["C_CONTIGUOUS"] and np.array_equal(bgr, view)
    assert np.array_equal(_bits(DetPreProcess(*args)(view)), _bits(ours))


def test_the_app_reads_the_same_lines_with_and_without_the_fast_pixel_work(ocr, monkeypatch):
    image = two_column_image()
    fast = ocr.read(image)
    detector = ocr._ocr.text_det
    assert type(detector.get_preprocess()).__name__ == "ExactDetPreProcess"
    monkeypatch.setattr(ocr_module, "install_exact_det_preprocess", lambda _ocr: False)
    monkeypatch.setattr(ocr_module, "bgr_array", lambda rgb: np.asarray(rgb)[:, :, ::-1])
    plain = OcrEngine()
    slow = plain.read(image)
    assert type(plain._ocr.text_det.get_preprocess()).__name__ == "DetPreProcess"
    assert fast and [(t.text, t.box, t.confidence) for t in fast] == [(t.text, t.box, t.confidence) for t in slow]


def test_a_pre_processing_that_would_differ_is_not_installed(monkeypatch):
    from rapidocr import RapidOCR

    monkeypatch.setattr(ocr_prep, "_table", lambda scale, mean, std: np.zeros((3, 256), np.float32))
    rapid = RapidOCR(params={"Global.log_level": "error"})
    assert ocr_prep.install_exact_det_preprocess(rapid) is False
    assert type(rapid.text_det.get_preprocess()).__name__ == "DetPreProcess"


class CountingSession:
    """The classifier's own session, passed through, counting its calls."""

    def __init__(self, session) -> None:
        self.session = session
        self.calls = 0

    def __call__(self, batch):
        self.calls += 1
        return self.session(batch)


@pytest.fixture()
def classifier_calls(ocr):
    cls = ocr._ocr._load_cls_model()
    counting = CountingSession(cls.session)
    cls.session = counting
    yield counting
    cls.session = counting.session


def test_a_screen_capture_skips_the_classifier_and_a_photo_keeps_it(ocr, classifier_calls):
    upright = text_image(SCREEN_LINES, size=(760, 220))
    upside_down = upright.rotate(180)
    assert [t.text for t in ocr.read(upright, upright=True)] == SCREEN_LINES
    assert classifier_calls.calls == 0
    # A photo of a page held upside down: the classifier turns its lines round, so they are read.
    photo = [t.text for t in ocr.read(upside_down)]
    assert classifier_calls.calls > 0
    assert "Meeting on Tuesday at ten" in photo
    # The same image as a screen capture is taken as upright (screens are): without the turn it is not read.
    assert "Meeting on Tuesday at ten" not in [t.text for t in ocr.read(upside_down, upright=True)]


def test_the_describer_reads_a_capture_upright_and_a_file_with_the_classifier(ocr, classifier_calls):
    describer = Describer(None, ocr=ocr)
    page = text_image(SCREEN_LINES, size=(760, 220))
    capture = describer.describe(page, kind_hint="screen")
    assert [t.text for t in capture.text_lines] == SCREEN_LINES and classifier_calls.calls == 0
    describer.describe(page, source="page.png")
    assert classifier_calls.calls > 0
