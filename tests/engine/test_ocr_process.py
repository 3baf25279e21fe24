"""The app's text reader in a child process (engine.ocr_process): the same lines as in-process OCR, and a
reader that dies or cannot start is said in words and replaced."""
from __future__ import annotations

import sys

import pytest

from engine.ocr import OcrEngine
from engine.ocr_process import OcrProcess, OcrProcessError
from tests.fixtures.images import LEFT_COLUMN, RIGHT_COLUMN, two_column_image


@pytest.fixture(scope="module")
def reader():
    with OcrProcess() as process:
        process.start()
        yield process


def test_reads_the_same_lines_as_in_process_ocr(reader):
    image = two_column_image(title="Weekend plans")
    lines = reader.read(image)
    assert [line.text for line in lines] == ["Weekend plans", *LEFT_COLUMN, *RIGHT_COLUMN]
    assert lines == OcrEngine().read(image)  # same text, boxes and confidences
    assert reader.read(image.convert("RGBA")) == lines  # any mode is sent as RGB


def test_a_reader_that_was_killed_is_started_again(reader):
    reader._process.kill()
    reader._process.wait()
    assert [line.text for line in reader.read(two_column_image(title="Again"))][0] == "Again"


class _Scripted(OcrProcess):
    """A stand-in child that follows the protocol badly, to see what the app is told."""

    def __init__(self, script: str) -> None:
        super().__init__()
        self.script = script

    def _argv(self) -> list[str]:
        return [sys.executable, "-c", self.script]


def test_a_reader_dying_during_a_read_is_an_error_in_words_and_the_next_read_starts_a_new_one():
    dies = "import sys; sys.stdout.write('ready\\n'); sys.stdout.flush(); sys.stdin.buffer.read(12)"
    with _Scripted(dies) as process:
        with pytest.raises(OcrProcessError, match="stopped unexpectedly"):
            process.read(two_column_image())
        assert process._process is None  # gone, not left as a zombie
        with pytest.raises(OcrProcessError, match="stopped unexpectedly"):
            process.read(two_column_image())  # a new child was started (and died the same way)


def test_a_reader_that_cannot_start_says_why():
    fails = "import json; print(json.dumps({'error': 'ImportError: no module named rapidocr'}))"
    with _Scripted(fails) as process:
        with pytest.raises(OcrProcessError, match="could not start: ImportError: no module named rapidocr"):
            process.warm_up()


def test_close_ends_the_child():
    process = OcrProcess()
    process.start()
    child = process._process
    process.close()
    assert child.poll() is not None
    process.close()  # twice is fine
