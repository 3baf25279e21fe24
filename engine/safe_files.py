"""The one gate every input file passes: "is this a regular, readable file of a sane size?".

Why: a name can stand for something that is not a file. Opening a FIFO (named pipe) for reading blocks
until someone writes to it, forever, in a thread that then ignores SIGTERM; `/dev/zero` or a symlink to it
never ends; a socket or a terminal is not a picture either. So the file is opened with O_NONBLOCK (opening
a FIFO then returns at once), checked with fstat on the *opened* descriptor (no race between a check and
the open), and refused unless it is a regular file; reads are capped at `MAX_INPUT_BYTES`.

Used by engine.images.load_image (the CLI, the app's worker for dropped / pasted / opened files), the batch
loader (engine.batch) and the journal's hashing (engine.journal). Plain Python, thread-safe.
"""
from __future__ import annotations

import os
import stat
from typing import BinaryIO

from describe_aloud.engine.errors import ImageLoadError
from describe_aloud.engine.i18n import _

# Larger than any photo a camera makes (a 200 MP RAW-sized TIFF is ~600 MB); a bigger "image" is refused
# before it is read into memory.
MAX_INPUT_BYTES = 1 << 30

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(
    os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


class NotARegularFile(ImageLoadError):
    """The name stands for a pipe, a device, a socket or a folder, not a file."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return _("a folder")
    if stat.S_ISFIFO(mode):
        return _("a pipe (FIFO)")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return _("a device")
    if stat.S_ISSOCK(mode):
        return _("a socket")
    return _("not a regular file")


def open_regular(path: str | os.PathLike, name: str | None = None, *, follow_links: bool = True) -> BinaryIO:
    """Open `path` for reading if it is a regular file; never blocks on a pipe or device.

    Raises NotARegularFile (an ImageLoadError) with a sentence naming the file, or OSError (missing,
    permission denied, a link when `follow_links` is False...) as open() would."""
    name = name if name is not None else os.fsdecode(path)
    fd = os.open(path, _OPEN_FLAGS | (0 if follow_links else getattr(os, "O_NOFOLLOW", 0)))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotARegularFile(
                _("{name} is {kind}, not an image file, so it was not read.").format(name=name, kind=_kind(mode))
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # a regular file: ordinary reads from here on
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike, name: str | None = None, *, max_bytes: int = MAX_INPUT_BYTES,
                 follow_links: bool = True) -> bytes:
    """The whole content of a regular file of at most `max_bytes` (see open_regular for the errors)."""
    name = name if name is not None else os.fsdecode(path)
    with open_regular(path, name, follow_links=follow_links) as fh:
        size = os.fstat(fh.fileno()).st_size
        data = fh.read(max_bytes + 1) if size <= max_bytes else b""
    if size > max_bytes or len(data) > max_bytes:
        raise ImageLoadError(
            _("{name} is larger than {limit} MB, too large to be an image this app can describe.").format(
                name=name, limit=max_bytes >> 20)
        )
    return data


def not_replaceable(path: str | os.PathLike) -> str | None:
    """Why a file the app would read and then replace with its own output (a results file, a sidecar, a
    batch journal) must be left alone: it is a link (in a folder from someone else it can point at the
    user's own files, which would then be read or overwritten) or not a regular file (reading a pipe blocks,
    /dev/zero never ends). None when it is missing or a regular file. The reason fits "… is {reason}"."""
    try:
        info = os.lstat(path)
    except OSError:  # missing; or a name too long, a folder not searchable: the write says so itself
        return None
    if stat.S_ISLNK(info.st_mode):
        return _("a link, which Describe Aloud does not write through")
    return None if stat.S_ISREG(info.st_mode) else _kind(info.st_mode)
