"""What a batch reads: the image files of a folder (sorted, hidden ones skipped), and each image decoded
and shrunk ahead of the model in a loader thread, or the sentence that says why it could not be read.

Pure functions, safe to call from any thread (the batch's loader pool, Ray tasks)."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from describe_aloud.engine.errors import ImageLoadError
from describe_aloud.engine.i18n import _
from describe_aloud.engine.journal import FileKey
from describe_aloud.engine.text_safety import printable_path

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".dib", ".gif",
                              ".tif", ".tiff"})
HEIF_EXTENSIONS = frozenset({".heic", ".heif"})
# Longest side of the image handed to OCR and the captioner. The captioners resize to 224-768 px
# anyway; OCR reads photo text well at 2048, and decoding / converting a 24 MP photo is avoided.
DEFAULT_MAX_SIDE = 2048
MAX_SIDE_NO_OCR = 768  # Florence-2's input size, the largest in the catalog


def heif_available() -> bool:
    """True when pillow-heif is installed (optional): HEIC/HEIF files are then described too."""
    try:
        import pillow_heif  # type: ignore[import-not-found]
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def image_extensions() -> frozenset[str]:
    return IMAGE_EXTENSIONS | (HEIF_EXTENSIONS if heif_available() else frozenset())


def scan_folder(folder: str | os.PathLike, *, recursive: bool = False,
                extensions: frozenset[str] | None = None, unreadable: list[str] | None = None) -> list[str]:
    """Relative paths ('/' separators, sorted) of the image files in `folder`. Hidden files and folders
    (names starting with '.') are skipped: that is where our journal and temp files live.

    `unreadable`: receives the HEIC/HEIF photos left out because pillow-heif is not installed, so that
    the summary says so (heif_note) instead of leaving them out silently."""
    root = Path(folder)
    extensions = extensions or image_extensions()
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if recursive else []
        for name in filenames:
            suffix = Path(name).suffix.lower()
            if name.startswith(".") or suffix not in extensions:
                if unreadable is not None and suffix in HEIF_EXTENSIONS and not name.startswith("."):
                    unreadable.append((Path(dirpath) / name).relative_to(root).as_posix())
                continue
            found.append((Path(dirpath) / name).relative_to(root).as_posix())
    return sorted(found)


def heif_note(count: int) -> str:
    """The sentence for HEIC/HEIF photos left out of a batch, naming the command that makes them readable."""
    from describe_aloud.engine.i18n import ngettext
    from describe_aloud.engine.invocation import pip_install_command

    return ngettext("{count} HEIC/HEIF photo was left out: reading it needs the pillow-heif package. "
                    "Install it with: {command}",
                    "{count} HEIC/HEIF photos were left out: reading them needs the pillow-heif package. "
                    "Install it with: {command}", count).format(count=count, command=pip_install_command("pillow-heif"))


def remove_stale_temp_files(folder: Path, rel_paths: Sequence[str]) -> int:
    """Delete temp files our atomic writers left behind when killed (`.NAME.xxxx.describe-aloud-tmp`)."""
    from describe_aloud.engine.metadata import TMP_SUFFIX

    removed = 0
    for directory in {(folder / p).parent for p in rel_paths} | {folder}:
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            if name.startswith(".") and name.endswith(TMP_SUFFIX):
                try:
                    (directory / name).unlink()
                    removed += 1
                except OSError:
                    pass
    return removed


@dataclass
class LoadedImage:
    rel: str
    key: FileKey | None
    image: Any = None
    size: tuple[int, int] = (0, 0)
    error: str | None = None


def decode_shrunk(path: Path, max_side: int):
    """(RGB image no larger than `max_side`, original (width, height) as shown). A JPEG is decoded at a
    reduced scale (Pillow's draft mode: 1/2, 1/4, 1/8 in the decoder), which is most of the saving on big
    photos. Anything unusual goes through engine.images.load_image, whose errors explain the problem."""
    from PIL import Image

    from describe_aloud.engine.images import as_shown, load_image, open_image, refuse_bomb, to_rgb
    from describe_aloud.engine.safe_files import read_regular

    try:
        name = printable_path(path)
        im, (width, height) = open_image(read_regular(path, name), name, decode_side=max_side)
        with im:  # a JPEG is decoded at a reduced scale already (draft mode); the pixel limit is checked on that
            refuse_bomb(im, name)
            im.load()
            image = to_rgb(im)
    except Exception:  # noqa: BLE001 - the full loader decides, and says why in a sentence
        image = load_image(path)
        width, height = image.size
    width, height = as_shown((width, height), image)  # EXIF orientation may have turned it
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.BICUBIC, reducing_gap=2.0)
    return image, (width, height)


def load_for_batch(folder: Path, rel: str, key: FileKey | None, max_side: int, hash_files: bool) -> LoadedImage:
    """Decode one image and shrink it to `max_side` (runs in a loader thread; pure, thread-safe)."""
    path = folder / rel
    name = printable_path(rel)  # as said in a sentence: readable even when the name is not UTF-8
    try:
        if key is None:
            key = FileKey.of(path, with_hash=hash_files)
        image, size = decode_shrunk(path, max_side)
        return LoadedImage(rel, key, image, size)
    except ImageLoadError as exc:
        return LoadedImage(rel, key, error=str(exc).replace(printable_path(path), name))
    except OSError as exc:
        return LoadedImage(rel, key, error=_("{rel} cannot be read: {value}.").format(rel=name, value=exc.strerror or exc))
    except MemoryError:
        return LoadedImage(rel, key, error=_("{rel} is too large to open with the memory available.").format(rel=name))
    except Exception as exc:  # noqa: BLE001 - one odd file must not stop a thousand-image run
        log.exception("loading %s failed", rel)
        return LoadedImage(rel, key, error=_("{rel} could not be read ({name__}: {reason}).").format(rel=name, name__=type(exc).__name__, reason=exc))
