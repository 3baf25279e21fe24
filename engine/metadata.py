"""Write alt text into image files and XMP sidecars without re-encoding a single pixel.

What is written:
- XMP `Iptc4xmpCore:AltTextAccessibility` (IPTC "Alt Text (Accessibility)", lang-alt x-default) and
  `dc:description` (lang-alt x-default). Other languages and every other XMP property already in the file
  are kept (the existing packet is merged, not replaced).
- JPEG only: EXIF IFD0 `ImageDescription` (ASCII; accents are transliterated, and when anything else
  non-ASCII remains the tag is not written at all rather than written mangled) and `XPComment` (UTF-16LE).

How (byte level, per format):
- JPEG: the XMP APP1 segment and the EXIF APP1 segment are replaced or inserted; the entropy-coded data is
  copied byte for byte.
- PNG: an `iTXt` chunk with keyword `XML:com.adobe.xmp` (with its CRC) replaces any old one, before IDAT.
- WebP: an `XMP ` RIFF chunk; the VP8X header's XMP flag is set. A simple (VP8 / VP8L) file is turned
  into the extended (VP8X) layout around the untouched bitstream.
- TIFF: a new IFD0 carrying tag 700 (XMLPacket) is appended at the end of the file and the header points
  to it; nothing else moves, so every existing offset stays valid (the old IFD0 is left unreferenced).
  The same trick updates EXIF IFD0 inside a JPEG.
- Other formats (BMP, GIF, HEIC, BigTIFF): not written; use an XMP sidecar.

Safety: the new file is written to a temporary file in the same folder, fsynced, decoded and compared
with the original (same mode, size and pixel bytes, frame by frame) and only then moved over the original
with os.replace. Permissions, owner (when allowed) and modification time are kept. Any doubt leaves the
original untouched and returns a MetadataResult saying why.

Threading: plain functions with no shared state apart from ElementTree's namespace-prefix registry; call
from one thread at a time (the batch thread).
"""
from __future__ import annotations

import hashlib
import os
import stat
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from describe_aloud.engine.i18n import _
from describe_aloud.engine.metadata_formats import MetadataError
from describe_aloud.engine.metadata_formats.containers import (
    EXIF_HEADER,
    PNG_XMP_KEYWORD,
    WRITABLE_FORMATS,
    XMP_JPEG_HEADER,
    jpeg_segments,
    jpeg_with_alt_text,
    png_chunks,
    png_itxt_text,
    png_with_alt_text,
    riff_chunks,
    sniff_format,
    webp_with_alt_text,
)
from describe_aloud.engine.metadata_formats.existing import foreign_alt_text, hashes_of_written
from describe_aloud.engine.metadata_formats.tiff import (
    TAG_XMP,
    TAG_XP_COMMENT,
    TIFF_BYTE,
    appended_ifd0,
    ascii_or_none,
    read_ifd,
    tiff_header,
    tiff_read_tag,
)
from describe_aloud.engine.metadata_formats.xmp import build_xmp, read_xmp_alt_text
from describe_aloud.engine.errors import ImageLoadError
from describe_aloud.engine.safe_files import not_replaceable, read_regular
from describe_aloud.engine.text_safety import xml_text

TMP_SUFFIX = ".describe-aloud-tmp"
# An XMP sidecar is a few KB; one larger than this is not read (a link to /dev/zero, a planted giant).
MAX_SIDECAR_BYTES = 16 << 20

@dataclass
class MetadataResult:
    path: str
    status: str  # "written" | "unsupported" | "kept" (someone else's alt text is there) | "failed"
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "written"


# -------------------------------------------------------------------------------- safe replacing


def _pixel_fingerprint(path: str) -> tuple:
    """Mode, size and a hash of the decoded pixels of every frame (first 100)."""
    from PIL import Image

    with Image.open(path) as im:
        frames = getattr(im, "n_frames", 1)
        digests = []
        for i in range(min(frames, 100)):
            im.seek(i)
            im.load()
            digests.append(hashlib.sha256(im.tobytes()).hexdigest())
        return im.format, frames, im.mode, im.size, tuple(digests)


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _replace_verified(path: str, write_new, *, alt_text: str, fmt: str) -> None:
    """Write the new file via `write_new(fh)` into a temp file beside `path`, check it, keep the original's
    permissions/owner/mtime, then atomically replace. Raises MetadataError (original untouched)."""
    st = os.stat(path)
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=TMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            write_new(fh)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            same = _pixel_fingerprint(tmp) == _pixel_fingerprint(path)
        except Exception as exc:  # noqa: BLE001 - any decode failure means "not safe"
            raise MetadataError(_("the rewritten file could not be decoded ({reason})").format(reason=exc)) from None
        if not same:
            raise MetadataError(_("the rewritten file did not decode to the same pixels"))
        if read_alt_text(tmp, fmt=fmt) != alt_text:
            raise MetadataError(_("the alt text could not be read back from the rewritten file"))
        os.chmod(tmp, st.st_mode & 0o7777)
        try:
            os.chown(tmp, st.st_uid, st.st_gid)
        except OSError:
            pass  # not allowed for a normal user unless it is already ours; the permissions are kept
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        # The original must not have changed while we worked on it.
        now = os.stat(path)
        if (now.st_size, now.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
            raise MetadataError(_("the file changed while the metadata was being written"))
        os.replace(tmp, path)
        _fsync_dir(folder)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_alt_text(path: str | os.PathLike, *, fmt: str | None = None) -> str | None:
    """Our own reader of the XMP AltTextAccessibility in a JPEG / PNG / WebP / TIFF file."""
    data = Path(path).read_bytes()
    fmt = fmt or sniff_format(data[:16])
    packet = None
    if fmt == "jpeg":
        segments, _ = jpeg_segments(data)
        packet = next((p[len(XMP_JPEG_HEADER):] for m, p in segments if m == 0xE1 and p.startswith(XMP_JPEG_HEADER)), None)
    elif fmt == "png":
        packet = next((png_itxt_text(b) for t, b, _ in png_chunks(data)
                       if t == b"iTXt" and b.startswith(PNG_XMP_KEYWORD + b"\x00")), None)
    elif fmt == "webp":
        packet = next((b for f, b in riff_chunks(data) if f == b"XMP "), None)
    elif fmt == "tiff":
        packet = tiff_read_tag(data, TAG_XMP)
    return read_xmp_alt_text(packet) if packet else None


def write_alt_text(path: str | os.PathLike, alt_text: str, *, ours: set[str] | None = None,
                   replace_existing: bool = False, within: str | os.PathLike | None = None) -> MetadataResult:
    """Write `alt_text` into the image file at `path` (see the module docstring). Never raises for a file
    problem: returns a MetadataResult whose `reason` is a sentence for the user.

    Alt text already in the file that Describe Aloud did not write (its hash is not in `ours`, see
    metadata_formats.existing) is kept: status "kept", unless `replace_existing`. `within` (a batch's
    folder): a link is written through only to a file inside it, never to one elsewhere (a folder from
    someone else may hold links to the user's own photos)."""
    shown = str(path)
    alt_text = xml_text(alt_text)  # what is written is what is verified afterwards
    real = os.path.realpath(path)  # through a symlink: rewrite the target, keep the link
    if within is not None and not _inside(real, os.path.realpath(within)):
        return MetadataResult(shown, "failed", _("left untouched: it is a link to a file outside the folder"))
    try:
        st = os.stat(real)
        if not stat.S_ISREG(st.st_mode):
            return MetadataResult(shown, "failed", _("left untouched: it is not a regular file"))
        if not st.st_mode & 0o222:
            # Replacing it would work (the folder is writable) but the owner marked it not to be changed.
            return MetadataResult(shown, "failed", _("left untouched: the file is read-only"))
        if st.st_nlink > 1:
            return MetadataResult(shown, "failed", _("left untouched: the file has other hard links, "
                                  "which replacing it would break"))
        with open(real, "rb") as fh:
            head = fh.read(16)
        fmt = sniff_format(head)
        if fmt not in WRITABLE_FORMATS:
            what = {"gif": "GIF", "bmp": "BMP", "heif": "HEIC/HEIF"}.get(fmt or "")
            reason = (_("{what} files cannot hold alt text here; use --sidecar xmp instead").format(what=what) if what
                      else _("Files of this kind cannot hold alt text here; use --sidecar xmp instead"))
            return MetadataResult(shown, "unsupported", reason)
        if not replace_existing:
            theirs = foreign_alt_text(real, fmt, alt_text, ours or set())
            if theirs is not None:
                return MetadataResult(shown, "kept", kept_reason(theirs))
        if fmt == "tiff":
            _write_tiff(real, alt_text)
        else:
            data = Path(real).read_bytes()
            rewrite = {"jpeg": jpeg_with_alt_text, "png": png_with_alt_text, "webp": webp_with_alt_text}[fmt]
            new = rewrite(data, alt_text)
            _replace_verified(real, lambda fh: fh.write(new), alt_text=alt_text, fmt=fmt)
    except MetadataError as exc:
        return MetadataResult(shown, "failed", _("left untouched: {reason}").format(reason=exc))
    except OSError as exc:
        return MetadataResult(shown, "failed", _("left untouched: {value}").format(value=exc.strerror or exc))
    except (struct.error, zlib.error, IndexError, ValueError, UnicodeError) as exc:
        # A malformed structure our parser did not foresee: nothing was replaced.
        return MetadataResult(shown, "failed", _("left untouched: its metadata could not be parsed ({reason})").format(reason=exc))
    return MetadataResult(shown, "written")


def kept_reason(theirs: str) -> str:
    shown = theirs if len(theirs) <= 60 else theirs[:57] + "..."
    return _("left untouched: it already has alt text that Describe Aloud did not write (“{text}”); "
             "--replace-alt-text (in the app: “Replace alt text others wrote”) replaces it").format(text=shown)


def _write_tiff(path: str, alt_text: str) -> None:
    with open(path, "rb") as fh:
        head = fh.read(8)
        order, ifd0 = tiff_header(head)
        size = os.fstat(fh.fileno()).st_size
        if ifd0 + 2 > size:
            raise MetadataError(_("the first TIFF directory points outside the file"))
        fh.seek(ifd0)
        (count,) = struct.unpack(order + "H", fh.read(2))
        fh.seek(ifd0)
        ifd_bytes = fh.read(2 + 12 * count + 4)
        # Present just the header and IFD0 at their real offsets to the IFD helpers (sparse view).
        view = _SparseView(size, {0: head, ifd0: ifd_bytes})
        old_xmp = None
        entries, _next_ifd = read_ifd(view, order, ifd0)
        if TAG_XMP in entries:
            _tag, type_, cnt = struct.unpack(order + "HHI", entries[TAG_XMP][:8])
            (off,) = struct.unpack(order + "I", entries[TAG_XMP][8:12])
            if cnt > 4 and off + cnt <= size:
                fh.seek(off)
                old_xmp = fh.read(cnt)
    packet = build_xmp(alt_text, old_xmp)
    appended, new_ifd0 = appended_ifd0(view, size, {TAG_XMP: (TIFF_BYTE, packet)})

    def write_new(out) -> None:
        with open(path, "rb") as src:
            src.seek(0)
            out.write(src.read(4) + struct.pack(order + "I", new_ifd0))
            src.seek(8)
            while chunk := src.read(1 << 20):
                out.write(chunk)
        out.write(appended)

    _replace_verified(path, write_new, alt_text=alt_text, fmt="tiff")


class _SparseView:
    """Bytes-like view of a file of which only a few ranges were read (for the IFD helpers)."""

    def __init__(self, length: int, ranges: dict[int, bytes]) -> None:
        self._length = length
        self._ranges = ranges

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, item: slice) -> bytes:
        start, stop = item.start or 0, item.stop
        for offset, chunk in self._ranges.items():
            if offset <= start and stop <= offset + len(chunk):
                return chunk[start - offset : stop - offset]
        raise MetadataError(_("the TIFF directory could not be read"))


# ------------------------------------------------------------------------------------ sidecars


def xmp_sidecar_path(image_path: str | os.PathLike) -> Path:
    """`IMG_1.jpg` -> `IMG_1.jpg.xmp` (darktable / digiKam naming; never collides with Lightroom's
    `IMG_1.xmp`, which belongs to a raw file of the same name)."""
    p = Path(image_path)
    return p.with_name(p.name + ".xmp")


def text_sidecar_path(image_path: str | os.PathLike) -> Path:
    p = Path(image_path)
    return p.with_name(p.name + ".txt")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write a whole file through a temp file in the same folder + fsync + os.replace."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
        _fsync_dir(str(path.parent))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _inside(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # Windows: another drive
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_xmp_sidecar(image_path: str | os.PathLike, alt_text: str) -> MetadataResult:
    """Create or update `IMG_1.jpg.xmp`. An existing sidecar (ours or another tool's) is merged: only the
    two alt-text properties change; one that is not valid XMP is left untouched and reported."""
    sidecar = xmp_sidecar_path(image_path)
    alt_text = xml_text(alt_text)
    if (reason := not_replaceable(sidecar)) is not None:
        return MetadataResult(str(sidecar), "failed", _("left untouched: it is {reason}").format(reason=reason))
    try:
        existing = (read_regular(sidecar, follow_links=False, max_bytes=MAX_SIDECAR_BYTES) if sidecar.exists()
                    else None)
        packet = build_xmp(alt_text, existing, padding=0)
        # A sidecar is a plain XMP document: no xpacket wrapper needed, but it does no harm either.
        atomic_write_bytes(sidecar, packet)
    except MetadataError as exc:
        return MetadataResult(str(sidecar), "failed", _("left untouched: {reason}").format(reason=exc))
    except OSError as exc:
        return MetadataResult(str(sidecar), "failed", _("not written: {value}").format(value=exc.strerror or exc))
    except ImageLoadError as exc:  # over MAX_SIDECAR_BYTES, or replaced by a pipe since the check
        return MetadataResult(str(sidecar), "failed", _("left untouched: {reason}").format(reason=exc))
    except (zlib.error, ValueError, UnicodeError) as exc:  # nothing was replaced; reported, the run goes on
        return MetadataResult(str(sidecar), "failed", _("left untouched: it could not be parsed ({reason})").format(reason=exc))
    return MetadataResult(str(sidecar), "written")


__all__ = [  # the format-level names are re-exported for readers of files (tests, tools)
    "EXIF_HEADER",
    "PNG_XMP_KEYWORD",
    "TAG_XP_COMMENT",
    "TMP_SUFFIX",
    "WRITABLE_FORMATS",
    "XMP_JPEG_HEADER",
    "MetadataError",
    "MetadataResult",
    "ascii_or_none",
    "atomic_write_bytes",
    "hashes_of_written",
    "build_xmp",
    "read_alt_text",
    "read_xmp_alt_text",
    "sniff_format",
    "text_sidecar_path",
    "write_alt_text",
    "write_xmp_sidecar",
    "xmp_sidecar_path",
]
