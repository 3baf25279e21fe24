"""Starting the text reader sooner (engine.ocr_start): rapidocr's model table read once at import, and
OpenVINO's compiled OCR models kept in the cache folder. What a user would notice if it went wrong: other
text read, an OCR that no longer starts, or a start that fails on a damaged or unwritable cache."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from describe_aloud.engine.ocr import OcrEngine
from describe_aloud.engine.ocr_engines import ENGINE_OPENVINO, OcrSettings
from describe_aloud.engine.ocr_start import compiled_models_dir

from devtools.real_screens import build_screens

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dialog(tmp_path_factory):
    """A real GTK message dialog (zenity on Xvfb), captured, and the lines it shows."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("ocr-start-screens")
    built = build_screens(folder, names={"gtk-message"})
    assert [s.name for s in built] == ["gtk-message"], "zenity is a test package (devtools/setup.sh)"
    return Image.open(built[0].path).convert("RGB"), built[0].truth.splitlines()


def _from_cache(engine: OcrEngine) -> list[bool]:
    """Whether each of rapidocr's OpenVINO models was loaded from the cache (OpenVINO's own property)."""
    ocr = engine._engine()
    parts = [getattr(ocr, name, None) for name in ("text_det", "text_cls", "text_rec")]
    return [part.session.session.get_compiled_model().get_property("LOADED_FROM_CACHE") for part in parts]


def _lines(engine: OcrEngine, image) -> list[tuple[str, tuple, float]]:
    return [(line.text, tuple(line.box), round(line.confidence, 6)) for line in engine.read(image)]


def test_rapidocr_reads_its_model_table_once_and_omegaconf_is_left_as_it_was():
    """In a fresh interpreter (rapidocr is imported once per process): both of rapidocr's readers of the
    table hold the same object, and OmegaConf.load is OmegaConf's own again afterwards."""
    script = """
import json
from omegaconf import OmegaConf
before = OmegaConf.__dict__["load"]
from describe_aloud.engine.ocr_engines import OcrSettings, build_rapidocr
build_rapidocr(OcrSettings(engine="onnxruntime"), max_side_len=2560)
import rapidocr.utils.model_resolver as resolver
from rapidocr.inference_engine.base import InferSession
print(json.dumps({"shared": resolver._MODEL_CONFIG is InferSession.model_info,
                  "restored": OmegaConf.__dict__["load"] is before,
                  "table": len(resolver.MODEL_ROUTES) > 0}))
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"shared": True, "restored": True, "table": True}


@pytest.mark.xvfb
def test_compiled_models_are_cached_and_read_exactly_the_same_text(dialog, tmp_path, monkeypatch):
    image, truth = dialog
    monkeypatch.setenv("DESCRIBE_ALOUD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DESCRIBE_ALOUD_OCR_CACHE", "0")
    uncached = OcrEngine(settings=OcrSettings(engine=ENGINE_OPENVINO))
    expected = _lines(uncached, image)
    assert [text for text, _, _ in expected] == truth
    assert not (tmp_path / "cache").exists()
    assert _from_cache(uncached) == [False, False, False]

    monkeypatch.delenv("DESCRIBE_ALOUD_OCR_CACHE")  # the app's own place (in the data folder here)
    first = OcrEngine(settings=OcrSettings(engine=ENGINE_OPENVINO))  # compiles and writes the cache
    assert _lines(first, image) == expected
    assert _from_cache(first) == [False, False, False]
    folder = compiled_models_dir()
    assert folder is not None and folder.is_relative_to(tmp_path / "cache" / "openvino")
    blobs = sorted(folder.glob("*.blob"))
    assert len(blobs) == 3  # detector, classifier, recogniser
    sizes = {blob.name: blob.stat().st_size for blob in blobs}

    second = OcrEngine(settings=OcrSettings(engine=ENGINE_OPENVINO))  # loads them from the cache
    assert _lines(second, image) == expected  # same lines, boxes and scores
    assert second.engine_name == ENGINE_OPENVINO
    assert _from_cache(second) == [True, True, True]
    assert oct(folder.stat().st_mode & 0o777) == oct(0o700) and oct(folder.parent.stat().st_mode & 0o777) == oct(0o700)

    for blob in blobs:  # a damaged cache (a full disk, a crash while writing): compiled again
        blob.chmod(0o600)
        blob.write_bytes(blob.read_bytes()[:1000])
    damaged = OcrEngine(settings=OcrSettings(engine=ENGINE_OPENVINO))
    assert _lines(damaged, image) == expected
    assert damaged.engine_name == ENGINE_OPENVINO
    assert _from_cache(damaged) == [False, False, False]  # compiled again
    rewritten = {blob.name: blob.stat().st_size for blob in folder.glob("*.blob")}
    assert rewritten.keys() == sizes.keys()
    for name, size in rewritten.items():  # whole again (a compile writes a few bytes more or less)
        assert abs(size - sizes[name]) < 0.01 * sizes[name], name


@pytest.mark.xvfb
def test_an_unusable_cache_folder_only_means_compiling_at_every_start(dialog, tmp_path, monkeypatch):
    image, truth = dialog
    monkeypatch.setenv("DESCRIBE_ALOUD_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DESCRIBE_ALOUD_OCR_CACHE")  # the app's own place, not the tests' shared one
    (tmp_path / "cache").write_text("not a folder")  # e.g. a file in the way
    assert compiled_models_dir() is None
    monkeypatch.setenv("DESCRIBE_ALOUD_OCR_CACHE", "relative/folder")  # not a place: the app's own one
    assert compiled_models_dir() is None and not Path("relative").exists()
    monkeypatch.setenv("DESCRIBE_ALOUD_OCR_CACHE", "off")
    assert compiled_models_dir() is None
    monkeypatch.delenv("DESCRIBE_ALOUD_OCR_CACHE")
    engine = OcrEngine(settings=OcrSettings(engine=ENGINE_OPENVINO))
    assert [text for text, _, _ in _lines(engine, image)] == truth
    assert engine.engine_name == ENGINE_OPENVINO


def test_compiled_models_of_an_openvino_long_gone_are_removed_and_nothing_else(tmp_path, monkeypatch):
    """Each OpenVINO upgrade starts a new ~31 MB folder: the ones no start used for STALE_AFTER_DAYS go, the
    one of another computer sharing this home and used lately stays, and so does anything not ours."""
    import os
    import time

    from describe_aloud.engine import ocr_start

    monkeypatch.setenv("DESCRIBE_ALOUD_OCR_CACHE", str(tmp_path))
    monkeypatch.setattr(ocr_start, "_pruned", set())
    long_ago = time.time() - (ocr_start.STALE_AFTER_DAYS + 5) * 86400
    old, lately, notes = tmp_path / "0123456789abcdef", tmp_path / "fedcba9876543210", tmp_path / "my-notes"
    for folder in (old, lately, notes):
        folder.mkdir()
        (folder / "model.blob").write_bytes(b"x" * 1000)
    for folder in (old, notes):
        os.utime(folder, (long_ago, long_ago))
    os.utime(lately, (time.time() - 86400, time.time() - 86400))
    folder = compiled_models_dir()
    assert folder is not None and folder.parent == tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([folder.name, lately.name, notes.name])
    # A folder in use stays in use: its time is renewed at every start, whatever its files' age.
    os.utime(folder, (long_ago, long_ago))
    monkeypatch.setattr(ocr_start, "_pruned", set())
    assert compiled_models_dir() == folder and time.time() - folder.stat().st_mtime < 60
