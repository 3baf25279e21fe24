"""Turning files and bytes into plain RGB PIL images, with one clear sentence for every way that can fail.

Every image the engine works on passes through `to_rgb`: EXIF orientation applied, CMYK / palette /
16-bit / float / alpha converted to 8-bit RGB; of an animation its first frame that is not blank, of a TIFF
of several pages its first page that is not blank (which one, of how many: PAGE_OF); transparency
composited on white (what a viewer shows), or on black when what is drawn is itself light (a white logo or
icon made for dark backgrounds would otherwise vanish into white and be called blank). Decompression bombs
are refused before their pixels are decoded; a JPEG is decoded at a reduced scale (its decoder's 1/2 ...
1/8) when it is larger than anything the app reads at, so a 108 or 200 megapixel phone photo is described
instead of refused (its own size: ORIGINAL_SIZE).

All functions are pure and thread-safe (no shared state besides Pillow's global pixel limit, which is
only read).
"""
from __future__ import annotations

import io
import logging
import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from describe_aloud.engine.errors import ImageLoadError
from describe_aloud.engine.i18n import _
from describe_aloud.engine.safe_files import read_regular
from describe_aloud.engine.text_safety import printable_path

log = logging.getLogger(__name__)

# Pillow modes that carry transparency once converted to RGBA.
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
# Integer / float modes with more than 8 bits per sample.
_WIDE_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_BACKGROUND = (255, 255, 255)
_DARK_BACKGROUND = (0, 0, 0)
# What is drawn (alpha-weighted) at least this light (0..255) is composited on black instead of white.
_LIGHT_DRAWING = 200
# ... and only when at least this share of the picture is transparent (a logo, an icon).
_TRANSPARENT_SHARE = 0.25
# A JPEG larger than this (long side) is decoded at the smallest reduced scale that still gives at least
# this many pixels: the OCR reads at up to engine.ocr.MAX_SIDE (2560), the captioners at 224-768.
DECODE_SIDE = 2560
# Image.info key: (width, height) of a picture decoded at a reduced scale, as shown (EXIF turn applied).
ORIGINAL_SIZE = "describe_aloud.original_size"
# Image.info key: (page, pages) of a file of several pages (a TIFF scan), the page being the one read.
PAGE_OF = "describe_aloud.page_of"
# A JPEG is refused when even its decoder's 1/8 scale is over Pillow's pixel limit or it claims more than
# this many times that limit (decoding still walks every block of the file).
_JPEG_LIMIT_FACTOR = 8


def load_image(path: str | os.PathLike[str]) -> Image.Image:
    """Read an image file into an RGB image. Raises ImageLoadError with a sentence naming the file.

    The file goes through engine.safe_files first: a pipe, a device or an oversized file is refused with a
    sentence instead of hanging or filling the memory."""
    name = printable_path(path)
    if not os.path.lexists(path):
        raise ImageLoadError(_("{name} does not exist.").format(name=name))
    if os.path.isdir(path):
        raise ImageLoadError(_("{name} is a folder, not an image file.").format(name=name))
    try:
        data = read_regular(path, name)
    except PermissionError:
        raise ImageLoadError(_("{name} cannot be opened: permission denied.").format(name=name)) from None
    except FileNotFoundError:
        raise ImageLoadError(_("{name} does not exist (or is a link to nothing).").format(name=name)) from None
    except OSError as exc:
        raise ImageLoadError(_("{name} cannot be read: {value}.").format(name=name, value=exc.strerror or exc)) from None
    return image_from_bytes(data, name)


def image_from_bytes(data: bytes, name: str | None = None) -> Image.Image:
    """Decode image bytes (a file's content, the clipboard, a drop) into an RGB image.

    `name` is used in the error message ("photo.jpg is empty."); None: "The image"."""
    name = name or _("The image")
    if not data:
        raise ImageLoadError(_("{name} is empty (0 bytes), so there is no image in it.").format(name=name))
    try:
        img, size = open_image(data, name)
        with img:
            refuse_bomb(img, name)
            # Decode now, so a truncated file fails here rather than in the model. Pillow's
            # LOAD_TRUNCATED_IMAGES stays False: padding a cut-off file with grey would be described as real.
            img.load()
            rgb = to_rgb(img)
        if size != img.size:  # decoded reduced: the description still gives the picture's own size
            rgb.info[ORIGINAL_SIZE] = as_shown(size, rgb)
        return rgb
    except ImageLoadError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(_too_large_message(name, _pixels_from_message(exc))) from None
    except UnidentifiedImageError:
        raise ImageLoadError(_("{name} is not an image, or its format is not supported.").format(name=name)) from None
    except (OSError, SyntaxError, ValueError, IndexError, EOFError) as exc:
        # Pillow reports a cut-off or damaged file with any of these, depending on the format.
        log.debug("decoding %s failed: %r", name, exc)
        raise ImageLoadError(_("{name} is damaged or incomplete (truncated), so it cannot be read.").format(name=name)) from None


def open_image(data: bytes, name: str, *, decode_side: int | None = None) -> tuple[Image.Image, tuple[int, int]]:
    """(Pillow's image for `data`, not decoded yet, its full size). A JPEG larger than `decode_side` is set
    to decode at the smallest reduced scale that keeps at least that many pixels (its size is then the
    reduced one: `refuse_bomb` judges what will be decoded); None: DECODE_SIDE. Pillow's errors pass through."""
    decode_side = decode_side or DECODE_SIDE
    if data[:3] == b"\xff\xd8\xff":  # JPEG: opened by its plugin, whose size check comes after the draft
        from PIL import JpegImagePlugin

        img = JpegImagePlugin.JpegImageFile(io.BytesIO(data))
        size = img.size
        limit = Image.MAX_IMAGE_PIXELS
        if limit and size[0] * size[1] > limit * _JPEG_LIMIT_FACTOR:
            img.close()
            raise ImageLoadError(_too_large_message(name, size[0] * size[1]))
        if max(size) > decode_side:
            img.draft("RGB", (decode_side, decode_side))
        return img, size
    with warnings.catch_warnings():
        # Pillow only warns between 1x and 2x its pixel limit; refuse_bomb refuses those itself.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        img = Image.open(io.BytesIO(data))
    return img, img.size


def as_shown(size: tuple[int, int], image: Image.Image) -> tuple[int, int]:
    """`size` (a picture's width and height as stored) turned as `image` was when EXIF turned it."""
    turned = (image.width > image.height) != (size[0] > size[1]) and image.width != image.height
    return (size[1], size[0]) if turned else size


def to_rgb(img: Image.Image) -> Image.Image:
    """An 8-bit RGB copy of `img` as a viewer would show it (see the module docstring: orientation, the frame
    or page read, transparency)."""
    page_of = None
    if getattr(img, "n_frames", 1) > 1:
        img.seek(_first_drawn_frame(img))
        if img.format == "TIFF":  # pages of a scan, not frames of an animation: the user is told
            page_of = (img.tell() + 1, img.n_frames)
    rgb = _to_rgb_frame(img)
    if page_of is not None:
        rgb.info[PAGE_OF] = page_of
    return rgb


def _to_rgb_frame(img: Image.Image) -> Image.Image:
    copied = False  # full-size copies are what a big picture costs: one where one is needed
    try:
        if img.getexif().get(0x0112, 1) not in (None, 1):  # turned: exif_transpose copies the image anyway
            oriented = ImageOps.exif_transpose(img)
            if oriented is not None:
                img, copied = oriented, True
    except (ValueError, TypeError, KeyError, SyntaxError, OSError) as exc:
        # Broken EXIF must not cost the user the picture: keep it unrotated.
        log.debug("EXIF orientation ignored: %r", exc)

    mode = img.mode
    if mode == "RGB" and "transparency" not in img.info:
        return img if copied else img.copy()
    if mode in _WIDE_MODES:
        return _wide_to_rgb(img)
    if mode in _ALPHA_MODES or (mode == "P" and "transparency" in img.info) or (
        mode in ("L", "RGB") and "transparency" in img.info
    ):
        return _composite(img if mode == "RGBA" else img.convert("RGBA"))
    try:
        return img.convert("RGB")
    except ValueError:
        raise ImageLoadError(_("The image's colour format ({mode}) is not supported.").format(mode=mode)) from None


def _first_drawn_frame(img: Image.Image, looked_at: int = 8) -> int:
    """The first frame of an animation that is not one flat colour (among the first `looked_at`), else 0: a
    banner that fades in from white would otherwise be said to be blank."""
    for index in range(min(img.n_frames, looked_at)):
        try:
            img.seek(index)
            low, high = img.convert("L").getextrema()
        except (EOFError, OSError, ValueError):
            break
        if high - low > 8:
            return index
    return 0


def _composite(rgba: Image.Image) -> Image.Image:
    """`rgba` on white, or on black when what is drawn is light (see the module docstring)."""
    background = _DARK_BACKGROUND if _drawing_is_light(rgba) else _BACKGROUND
    # paste with the alpha as mask: the same blend as alpha_composite, with one full-size RGB copy instead of
    # three RGBA ones (a 9400x9400 PNG is 353 MB a copy).
    rgb = Image.new("RGB", rgba.size, background)
    rgb.paste(rgba, mask=rgba)  # an RGBA mask: its alpha band
    return rgb


def _drawing_is_light(rgba: Image.Image) -> bool:
    """Whether this is a light drawing on transparency: much of it transparent (a screenshot's rounded
    corners or drop shadow are not) and the visible pixels, weighted by their opacity, mostly light. Judged
    on a sample (nearest pixels: other filters copy the whole picture first)."""
    factor = max(1, max(rgba.size) // 256)
    small = rgba.resize((max(1, rgba.width // factor), max(1, rgba.height // factor)), Image.Resampling.NEAREST)
    arr = np.asarray(small, dtype=np.float32)
    alpha = arr[..., 3] / 255.0
    if alpha.sum() < 1.0 or float((alpha < 0.5).mean()) < _TRANSPARENT_SHARE:
        return False  # nothing drawn, or a picture with a few transparent edges: white, as a viewer shows
    luminance = arr[..., 0] * 0.299 + arr[..., 1] * 0.587 + arr[..., 2] * 0.114
    return float((luminance * alpha).sum() / alpha.sum()) >= _LIGHT_DRAWING


def _wide_to_rgb(img: Image.Image) -> Image.Image:
    """16-bit / 32-bit / float grey to 8-bit: data already in 0..255 kept, wider data scaled from the bits
    it uses: 10- or 12-bit sensor data stored in 16 bits (values up to 1023 / 4095) would otherwise come out
    nearly black, and be called blank with its text unread."""
    arr = np.asarray(img, dtype=np.float64)
    finite = arr[np.isfinite(arr)]
    top = float(finite.max()) if finite.size else 0.0  # an inf in float data: clipped below, as before
    if img.mode == "F" and top <= 1.0:
        arr = arr * 255.0  # float images in 0..1
    elif top > 255:
        bits = min(16, max(9, int(np.ceil(np.log2(top + 1)))))  # larger than 16 bits: clipped, as before
        arr = arr * (255.0 / (2 ** bits - 1))  # 16 bits: 0..65535 -> 0..255, as /257
    arr = np.nan_to_num(np.clip(arr, 0, 255)).astype(np.uint8)
    return Image.fromarray(arr).convert("RGB")


def refuse_bomb(img: Image.Image, name: str) -> None:
    """Refuse images above Pillow's pixel limit before decoding them (Pillow itself only warns below 2x)."""
    limit = Image.MAX_IMAGE_PIXELS
    pixels = img.size[0] * img.size[1]
    if limit and pixels > limit:
        raise ImageLoadError(_too_large_message(name, pixels))


def _too_large_message(name: str, pixels: int | None) -> str:
    if pixels:
        return _("{name} is too large to open safely ({megapixels:.0f} megapixels).").format(
            name=name, megapixels=pixels / 1e6)
    return _("{name} is too large to open safely.").format(name=name)


def _pixels_from_message(exc: Exception) -> int | None:
    # "Image size (N pixels) exceeds limit of ..." is the only place Pillow gives the size.
    words = str(exc).replace("(", " ").split()
    for i, word in enumerate(words[:-1]):
        if words[i + 1].startswith("pixels") and word.isdigit():
            return int(word)
    return None

