"""Files a command is asked to create (--save-audio OUT.wav, --save-image OUT.png): never a folder, never a
file of another kind, never an existing file unless the user said --overwrite. Checked before any work
starts, so a refusal costs nothing and the user's file (a photo named by mistake) is left as it is.
Written with write_whole(): a write that fails (a full disk) leaves no half file, and the file --overwrite
was to replace as it was.

Plain functions; the CLI calls check_new_file() for each such option (cli.common.check_output_options).
"""
from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.i18n import _

AUDIO_SUFFIXES = (".wav",)
# What the screen commands save with Pillow (the suffix chooses the format).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


class OutputRefused(UserFacingError):
    """The output file is refused; str() says why and which option allows it."""

    exit_code = 2


def check_new_file(path: str | os.PathLike, *, option: str, suffixes: tuple[str, ...],
                   overwrite: bool = False) -> Path:
    """The absolute path to write for `option` (e.g. "--save-audio"), or OutputRefused."""
    target = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
    shown = str(path)
    if target.is_dir():
        raise OutputRefused(_("{path} is a folder; {option} needs a file name, such as {example}.").format(
            path=shown, option=option, example=str(target / ("description" + suffixes[0]))))
    if target.suffix.lower() not in suffixes:
        raise OutputRefused(_("{option} cannot write {path}: the file name must end in {suffixes}.").format(
            option=option, path=shown, suffixes=", ".join(suffixes)))
    if (target.exists() or target.is_symlink()) and not overwrite:
        raise OutputRefused(_("{path} already exists, so it was left as it is. Choose another name for "
                              "{option}, or add --overwrite to replace it.").format(path=shown, option=option))
    return target


def write_whole(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """`write(temp)` writes the file to a new file beside `path` (same folder, same suffix: Pillow chooses
    the format by it), which then replaces `path` in one step. If `write` fails, the new file is removed
    and `path` is left as it was: a full disk never leaves a cut-off WAV, or half of the one it replaced."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.part{path.suffix}")
    os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # the umask applies, as to any file
    try:
        try:
            os.chmod(temp, stat.S_IMODE(path.stat().st_mode))  # replacing a file: keep who may read it
        except FileNotFoundError:
            pass
        write(temp)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path
