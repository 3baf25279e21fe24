"""A file a command writes (--save-audio, --save-image) is complete or not there: a disk that fills up while
it is written leaves no cut-off file, and the file --overwrite was to replace stays as it was.

The full disk is real: the process's file-size limit (RLIMIT_FSIZE) makes the kernel refuse writes past it,
as a full disk refuses them. The target is on another file system than the voice's own folder (/dev/shm vs
the temporary folder), as a USB stick or a network folder is: there a move is a copy, and a copy can stop
half way."""
from __future__ import annotations

import contextlib
import os
import resource
import signal
import tempfile
from pathlib import Path

import pytest

from describe_aloud.engine.config import Settings

SHM = Path("/dev/shm")


@contextlib.contextmanager
def disk_full_after(limit: int):
    """Writes past `limit` bytes into any file fail with EFBIG (instead of the process being killed)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


@pytest.fixture
def other_file_system(tmp_path):
    if not SHM.is_dir() or os.stat(SHM).st_dev == os.stat(tempfile.gettempdir()).st_dev:
        pytest.skip("needs /dev/shm on another file system than the temporary folder (Linux)")
    folder = Path(tempfile.mkdtemp(dir=SHM, prefix="describe-aloud-test-"))
    yield folder
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()


def test_an_audio_file_that_cannot_be_written_whole_leaves_the_replaced_file_as_it_was(speaker_factory,
                                                                                       other_file_system):
    speaker, _ = speaker_factory(Settings())
    target = other_file_system / "description.wav"
    good = speaker.save_wav("A first description, kept.", target).read_bytes()
    text = "A much longer description that needs far more room on the disk than there is left. " * 4
    with disk_full_after(16 * 1024), pytest.raises(OSError):
        speaker.save_wav(text, target)
    assert target.read_bytes() == good
    assert [p.name for p in other_file_system.iterdir()] == ["description.wav"]  # no half file beside it


def test_a_failed_write_leaves_nothing_and_a_new_file_appears_whole(tmp_path):
    from describe_aloud.engine.output_paths import write_whole

    target = tmp_path / "out" / "screen.png"

    def half_then_full(temp: Path) -> None:
        temp.write_bytes(b"\x89PNG half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_whole(target, half_then_full)
    assert list(target.parent.iterdir()) == []
    write_whole(target, lambda temp: temp.write_bytes(b"whole"))
    assert target.read_bytes() == b"whole" and [p.name for p in target.parent.iterdir()] == ["screen.png"]
