"""OCR engines and detector size (engine.ocr_engines) on real screens: real programs (xterm, a GTK dialog)
drawn by a real X server and captured (devtools/real_screens.py), read through the app's OcrEngine."""
from __future__ import annotations

import sys
from collections import Counter

import pytest

from describe_aloud.engine.ocr import OcrEngine
from describe_aloud.engine.ocr_engines import (
    DET_MAX_SIDE,
    MIN_TEXT_PX,
    ENGINE_ONNXRUNTIME,
    ENGINE_OPENVINO,
    OcrSettings,
    choose_engine,
)
from devtools.real_screens import build_screens


@pytest.fixture(scope="module")
def screens(tmp_path_factory):
    """name -> (PIL image, the text shown) for a few real screens, built once for this module."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("real-screens")
    built = build_screens(folder, names={"xterm-few-lines", "gtk-message", "xterm-dense-small"})
    assert {s.name for s in built} == {"xterm-few-lines", "gtk-message", "xterm-dense-small"}, (
        "xterm and zenity are test packages (devtools/setup.sh)")
    return {s.name: (Image.open(s.path).convert("RGB"), s.truth.splitlines()) for s in built}


def _words_found(truth: list[str], read: list[str]) -> float:
    want = Counter(w for line in truth for w in line.split())
    got = Counter(w for line in read for w in line.split())
    return sum((want & got).values()) / sum(want.values())


@pytest.mark.xvfb
def test_openvino_reads_the_same_text_as_onnxruntime_on_real_screens(screens):
    openvino = OcrEngine(settings=OcrSettings(engine=ENGINE_OPENVINO))
    onnxruntime = OcrEngine(settings=OcrSettings(engine=ENGINE_ONNXRUNTIME))
    for name in ("xterm-few-lines", "gtk-message"):
        image, truth = screens[name]
        read_ov = [line.text for line in openvino.read(image)]
        read_ort = [line.text for line in onnxruntime.read(image)]
        assert read_ov == read_ort, name
        assert read_ov == truth, name  # every line, exactly, in order
    assert openvino.engine_name == ENGINE_OPENVINO  # openvino is a dependency where it has wheels
    assert onnxruntime.engine_name == ENGINE_ONNXRUNTIME


@pytest.mark.xvfb
def test_small_dense_terminal_text_gets_a_second_larger_look_and_is_read(screens):
    """An 8 pt xterm (11 px letters, 58 lines): at a flat 736 px the detector loses much of it; the text-
    size policy looks again larger and reads at least as much as rapidocr's own default size did."""
    image, truth = screens["xterm-dense-small"]
    text_sized = OcrSettings(det_max_side=DET_MAX_SIDE, min_text_px=MIN_TEXT_PX, use_cls=False)  # opt-in policy
    adaptive = OcrEngine(settings=text_sized)
    flat = OcrEngine(settings=OcrSettings(det_max_side=DET_MAX_SIDE, min_text_px=None, use_cls=False))
    before = OcrEngine(settings=OcrSettings(det_max_side=None, use_cls=True, engine=ENGINE_ONNXRUNTIME))
    found = _words_found(truth, [line.text for line in adaptive.read(image)])
    assert adaptive._ocr.text_det.last_side > DET_MAX_SIDE
    assert found > _words_found(truth, [line.text for line in flat.read(image)]) + 0.15
    assert found >= _words_found(truth, [line.text for line in before.read(image)]) - 0.02
    # Ordinary text is found in the first, small look.
    adaptive.read(screens["xterm-few-lines"][0])
    assert adaptive._ocr.text_det.last_side == DET_MAX_SIDE


def test_without_openvino_the_engine_is_onnxruntime(monkeypatch):
    monkeypatch.delenv("DESCRIBE_ALOUD_OCR_ENGINE", raising=False)
    monkeypatch.setitem(sys.modules, "openvino", None)  # as if not installed: importing it fails
    assert choose_engine("auto") == ENGINE_ONNXRUNTIME
    assert choose_engine(ENGINE_OPENVINO) == ENGINE_ONNXRUNTIME
