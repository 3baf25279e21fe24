"""TIFF IFDs (TIFF files and the EXIF block of a JPEG): a new IFD0 with the alt-text tags is appended and
the header pointed at it, so no existing offset moves; and the ASCII form of a text for EXIF tags."""
from __future__ import annotations

import struct
import unicodedata

from describe_aloud.engine.i18n import _
from describe_aloud.engine.metadata_formats import MetadataError

TAG_IMAGE_DESCRIPTION = 0x010E
TAG_XMP = 700
TAG_XP_COMMENT = 0x9C9C
TIFF_BYTE, TIFF_ASCII = 1, 2


def ascii_or_none(text: str) -> str | None:
    """Text for EXIF ImageDescription (ASCII only): accents are dropped ("café" -> "cafe"), typographic
    quotes and dashes are replaced; if anything non-ASCII is left (CJK, emoji, Arabic...) None, so that
    a mangled half-sentence is never written."""
    replacements = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
                    "\u2026": "...", "\u00a0": " "}
    text = "".join(replacements.get(ch, ch) for ch in text)
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    try:
        stripped.encode("ascii")
    except UnicodeEncodeError:
        return None
    return stripped


# ------------------------------------------------------------------------------ TIFF IFD appending


def tiff_header(data: bytes) -> tuple[str, int]:
    if data[:4] == b"II*\x00":
        return "<", struct.unpack("<I", data[4:8])[0]
    if data[:4] == b"MM\x00*":
        return ">", struct.unpack(">I", data[4:8])[0]
    if data[:4] in (b"II+\x00", b"MM\x00+"):
        raise MetadataError(_("BigTIFF files are not supported for writing"))
    raise MetadataError(_("the TIFF header is not valid"))


def read_ifd(data: bytes, order: str, offset: int) -> tuple[dict[int, bytes], int]:
    """Raw 12-byte entries by tag, and the next-IFD offset."""
    if offset < 8 or offset + 2 > len(data):
        raise MetadataError(_("the first TIFF directory points outside the file"))
    (count,) = struct.unpack(order + "H", data[offset : offset + 2])
    end = offset + 2 + 12 * count
    if end + 4 > len(data):
        raise MetadataError(_("the first TIFF directory is truncated"))
    entries = {}
    for i in range(count):
        raw = data[offset + 2 + 12 * i : offset + 14 + 12 * i]
        (tag,) = struct.unpack(order + "H", raw[:2])
        entries[tag] = raw
    (next_ifd,) = struct.unpack(order + "I", data[end : end + 4])
    return entries, next_ifd


def appended_ifd0(head: bytes, total_len: int, new_tags: dict[int, tuple[int, bytes]]) -> tuple[bytes, int]:
    """Bytes to append to a TIFF structure of `total_len` bytes whose start is `head` (at least the header
    and IFD0): a copy of IFD0 with `new_tags` ({tag: (type, value bytes)}) set, followed by the new values.
    Returns (bytes to append, offset of the new IFD0). Existing entries keep their raw bytes, so their
    offsets into the untouched data stay valid."""
    order, ifd0 = tiff_header(head)
    entries, next_ifd = read_ifd(head, order, ifd0)
    pad = total_len % 2  # IFDs start on a word boundary
    new_ifd_offset = total_len + pad
    tags = sorted(set(entries) | set(new_tags))
    ifd_size = 2 + 12 * len(tags) + 4
    value_offset = new_ifd_offset + ifd_size
    ifd = bytearray(struct.pack(order + "H", len(tags)))
    values = bytearray()
    for tag in tags:
        if tag not in new_tags:
            ifd += entries[tag]
            continue
        type_, value = new_tags[tag]
        count = len(value) // _TIFF_TYPE_SIZE.get(type_, 1)  # BYTE / ASCII / UNDEFINED: one byte per item
        if len(value) <= 4:
            field = value.ljust(4, b"\x00")
        else:
            field = struct.pack(order + "I", value_offset + len(values))
            values += value
            if len(values) % 2:
                values += b"\x00"
        ifd += struct.pack(order + "HHI", tag, type_, count) + field
    ifd += struct.pack(order + "I", next_ifd)
    appended = b"\x00" * pad + bytes(ifd) + bytes(values)
    if new_ifd_offset + len(appended) >= 2**32:
        raise MetadataError(_("the TIFF file would grow beyond 4 GB"))
    return appended, new_ifd_offset


def tiff_read_tag(data: bytes, tag: int) -> bytes | None:
    """The raw value of an IFD0 tag of type BYTE / ASCII / UNDEFINED, or None."""
    order, ifd0 = tiff_header(data)
    entries, _ = read_ifd(data, order, ifd0)
    raw = entries.get(tag)
    if raw is None:
        return None
    _, type_, count = struct.unpack(order + "HHI", raw[:8])
    if type_ not in (1, 2, 7):
        return None
    if count <= 4:
        return raw[8 : 8 + count]
    (off,) = struct.unpack(order + "I", raw[8:12])
    return data[off : off + count] if off + count <= len(data) else None


# Bytes per item of the TIFF field types we write (BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED).
_TIFF_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1}
# IFD0 tags the EXIF standard requires in a JPEG (`exiftool -validate` checks them), for an EXIF block we
# create from nothing: 72 dpi, resolution in inches, YCbCr samples centred. Little-endian, as the header.
_REQUIRED_IFD0 = {
    0x011A: (5, struct.pack("<II", 72, 1)),  # XResolution
    0x011B: (5, struct.pack("<II", 72, 1)),  # YResolution
    0x0128: (3, struct.pack("<H", 2)),  # ResolutionUnit: inches
    0x0213: (3, struct.pack("<H", 1)),  # YCbCrPositioning: centred
}


def exif_with_tags(exif_tiff: bytes | None, new_tags: dict[int, tuple[int, bytes]]) -> bytes:
    if exif_tiff is None:
        exif_tiff = b"II*\x00" + struct.pack("<I", 8) + b"\x00\x00" + b"\x00\x00\x00\x00"
        new_tags = {**_REQUIRED_IFD0, **new_tags}
    appended, offset = appended_ifd0(exif_tiff, len(exif_tiff), new_tags)
    order, _ = tiff_header(exif_tiff)
    return exif_tiff[:4] + struct.pack(order + "I", offset) + exif_tiff[8:] + appended
