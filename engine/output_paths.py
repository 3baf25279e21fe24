"""Files a command is asked to create (--save-audio OUT.wav, --save-image OUT.png): never a folder, never a
file of another kind, never an existing file unless the user said --overwrite. Checked before any work
starts, so a refusal costs nothing and the user's file (a photo named by mistake) is left as it is.

Plain functions; the CLI calls check_new_file() for each such option (cli.common.check_output_options).
"""
from __future__ import annotations

import os
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
