"""A folder described in Chinese: the alt text is the zh_CN rendering with the caption translated by the
(tiny) translation model, and it goes into the image's XMP as lang-alt x-default and zh-CN, read back with
exiftool. Without the translation model the run stops before writing English into Chinese alt text."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from PIL import Image

from describe_aloud.engine.batch import BatchOptions, BatchRunner
from describe_aloud.engine.captioners import load_captioner
from describe_aloud.engine.config import hub_cache_dir
from describe_aloud.engine.errors import ModelNotAvailable
from describe_aloud.engine.i18n import set_language
from tests.fixtures.images import photo_image
from tests.fixtures.tiny_models import install_in_hub_cache

EXIFTOOL = shutil.which("exiftool")
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def chinese():
    set_language("zh_CN")
    yield
    set_language("en")


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool (libimage-exiftool-perl) is installed by setup.sh")
def test_a_folder_gets_chinese_alt_text_tagged_zh_cn(tmp_path, chinese, tiny_git_dir, tiny_marian_dir):
    install_in_hub_cache(tiny_marian_dir, "Helsinki-NLP/opus-mt-en-zh", hub_cache_dir())
    folder = tmp_path / "photos"
    folder.mkdir()
    photo_image().save(folder / "garden.jpg", quality=90)
    runner = BatchRunner(BatchOptions(folder=str(folder), write_metadata=True, use_ocr=False, checkpoint_seconds=0),
                         captioner=load_captioner(str(tiny_git_dir)))
    summary = runner.run()
    assert summary.described == 1 and summary.metadata_written == 1, summary.lines()
    assert HAN.search(summary.lines()[0])  # the summary is in Chinese too
    out = subprocess.run([EXIFTOOL, "-j", "-charset", "UTF8", "-XMP-iptcCore:AltTextAccessibility",
                          "-XMP-iptcCore:AltTextAccessibility-zh-CN", str(folder / "garden.jpg")],
                         capture_output=True, text=True, check=True, encoding="utf-8")
    tags = json.loads(out.stdout)[0]
    alt = tags["AltTextAccessibility"]
    assert tags["AltTextAccessibility-zh-CN"] == alt
    assert HAN.search(alt) and not re.search(r"[A-Za-z]{3,}", alt), alt  # the caption was translated


def test_without_the_translation_model_nothing_is_written_in_the_wrong_language(tmp_path, chinese, tiny_git_dir):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(folder / "red.png")
    runner = BatchRunner(BatchOptions(folder=str(folder), write_metadata=True, use_ocr=False, checkpoint_seconds=0),
                         captioner=load_captioner(str(tiny_git_dir)))
    with pytest.raises(ModelNotAvailable) as caught:
        runner.run()
    assert "opus-mt-en-zh" in str(caught.value)
    assert b"AltTextAccessibility" not in (folder / "red.png").read_bytes()


def test_in_chinese_a_batch_says_what_failed_on_stderr_and_the_rest_on_stdout(tmp_path, tiny_git_dir,
                                                                                 tiny_marian_dir):
    """The command line told failure lines apart by their English words, so in Chinese (or German) they went
    to stdout; and loading the translator drew transformers' bars despite --no-progress."""
    import os
    import sys
    from pathlib import Path

    install_in_hub_cache(tiny_marian_dir, "Helsinki-NLP/opus-mt-en-zh", hub_cache_dir())
    folder = tmp_path / "photos"
    folder.mkdir()
    photo_image().save(folder / "garden.jpg", quality=90)
    (folder / "zero.jpg").write_bytes(b"")
    main = Path(__file__).resolve().parents[2] / "main.py"
    done = subprocess.run([sys.executable, str(main), "--language", "zh_CN", "batch", str(folder), "--model",
                           str(tiny_git_dir), "--out", str(tmp_path / "r.csv"), "--no-ocr", "--no-progress"],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 1, done.stderr
    err = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(err) == 1 and "zero.jpg" in err[0] and HAN.search(err[0]), done.stderr  # the failure, only
    assert "zero.jpg" not in done.stdout and HAN.search(done.stdout)  # the counts and "Results:"
