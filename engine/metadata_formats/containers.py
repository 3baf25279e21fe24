"""The containers: JPEG segments, PNG chunks and WebP RIFF chunks, each rewritten around its untouched
compressed image data with a new XMP packet (and, for JPEG, EXIF tags)."""
from __future__ import annotations

import struct
import zlib

from describe_aloud.engine.i18n import _
from describe_aloud.engine.metadata_formats import MetadataError
from describe_aloud.engine.metadata_formats.tiff import (
    TAG_IMAGE_DESCRIPTION,
    TAG_XP_COMMENT,
    TIFF_ASCII,
    TIFF_BYTE,
    ascii_or_none,
    exif_with_tags,
)
from describe_aloud.engine.metadata_formats.xmp import build_xmp

XMP_JPEG_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
EXIF_HEADER = b"Exif\x00\x00"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"
_MAX_JPEG_SEGMENT = 65533  # payload bytes (the length field counts itself)


def sniff_format(head: bytes) -> str | None:
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == PNG_SIGNATURE:
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:2] == b"BM":
        return "bmp"
    if head[4:8] == b"ftyp":
        return "heif"
    return None


WRITABLE_FORMATS = ("jpeg", "png", "webp", "tiff")


def jpeg_segments(data: bytes) -> tuple[list[tuple[int, bytes]], int]:
    """(marker, payload) for each segment before the scan, and the offset where the scan (SOS) starts."""
    if data[:2] != b"\xff\xd8":
        raise MetadataError(_("the JPEG start marker is missing"))
    pos, segments = 2, []
    while True:
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise MetadataError(_("the JPEG header is damaged"))
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the rest is copied untouched
            return segments, pos
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            raise MetadataError(_("the JPEG header is damaged"))
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2 or pos + 2 + length > len(data):
            raise MetadataError(_("a JPEG header segment is truncated"))
        segments.append((marker, data[pos + 4 : pos + 2 + length]))
        pos += 2 + length


def jpeg_with_alt_text(data: bytes, alt_text: str) -> bytes:
    segments, scan_start = jpeg_segments(data)
    exif_i = next((i for i, (m, p) in enumerate(segments) if m == 0xE1 and p.startswith(EXIF_HEADER)), None)
    xmp_i = next((i for i, (m, p) in enumerate(segments) if m == 0xE1 and p.startswith(XMP_JPEG_HEADER)), None)

    old_xmp = segments[xmp_i][1][len(XMP_JPEG_HEADER):] if xmp_i is not None else None
    xmp_payload = XMP_JPEG_HEADER + build_xmp(alt_text, old_xmp)
    if len(xmp_payload) > _MAX_JPEG_SEGMENT:
        xmp_payload = XMP_JPEG_HEADER + build_xmp(alt_text, old_xmp, padding=0)
    if len(xmp_payload) > _MAX_JPEG_SEGMENT:
        raise MetadataError(_("the XMP metadata would not fit in one JPEG segment"))

    tags: dict[int, tuple[int, bytes]] = {TAG_XP_COMMENT: (TIFF_BYTE, alt_text.encode("utf-16-le") + b"\x00\x00")}
    ascii_text = ascii_or_none(alt_text)
    if ascii_text is not None:
        tags[TAG_IMAGE_DESCRIPTION] = (TIFF_ASCII, ascii_text.encode("ascii") + b"\x00")
    old_exif = segments[exif_i][1][len(EXIF_HEADER):] if exif_i is not None else None
    try:
        exif_payload = EXIF_HEADER + exif_with_tags(old_exif, tags)
        if len(exif_payload) > _MAX_JPEG_SEGMENT:
            raise MetadataError(_("the EXIF metadata would not fit in one JPEG segment"))
    except (MetadataError, struct.error):
        if exif_i is None:
            raise
        # Camera EXIF we cannot parse safely is kept byte for byte; the XMP alt text is still written.
        exif_payload = segments[exif_i][1]

    if exif_i is not None:
        segments[exif_i] = (0xE1, exif_payload)
    else:
        # EXIF goes first, after any JFIF/JFXX APP0 (readers expect APP0 to come first).
        at = next((i for i, (m, _) in enumerate(segments) if m != 0xE0), len(segments))
        segments.insert(at, (0xE1, exif_payload))
        if xmp_i is not None and xmp_i >= at:
            xmp_i += 1
    if xmp_i is not None:
        segments[xmp_i] = (0xE1, xmp_payload)
    else:
        exif_at = next(i for i, (m, p) in enumerate(segments) if m == 0xE1 and p.startswith(EXIF_HEADER))
        segments.insert(exif_at + 1, (0xE1, xmp_payload))

    out = bytearray(b"\xff\xd8")
    for marker, payload in segments:
        out += bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload
    out += data[scan_start:]
    return bytes(out)


def png_chunks(data: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """(type, data, crc) for each chunk, checking CRCs so that a damaged file is never rewritten."""
    if data[:8] != PNG_SIGNATURE:
        raise MetadataError(_("the PNG signature is missing"))
    pos, chunks = 8, []
    while pos < len(data):
        if pos + 12 > len(data):
            raise MetadataError(_("the PNG file is truncated"))
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        crc = data[pos + 8 + length : pos + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise MetadataError(_("the PNG file is truncated"))
        if struct.unpack(">I", crc)[0] != zlib.crc32(ctype + body) & 0xFFFFFFFF:
            raise MetadataError(_("the PNG chunk {decode!r} is damaged (bad checksum)").format(decode=ctype.decode('latin-1')))
        chunks.append((ctype, body, crc))
        pos += 12 + length
        if ctype == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        raise MetadataError(_("the PNG file is incomplete"))
    return chunks


def png_itxt_text(body: bytes) -> bytes:
    keyword, _, rest = body.partition(b"\x00")
    compressed, _method = rest[0], rest[1]
    rest = rest[2:]
    _lang, _, rest = rest.partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    return _inflate_xmp(text) if compressed else text


# A real XMP packet is a few kB (a photo editor's history may reach a few MB). A compressed iTXt chunk can
# ask for gigabytes from a few MB ("zip bomb"): never inflate more than this.
MAX_XMP_BYTES = 16 << 20


def _inflate_xmp(compressed: bytes) -> bytes:
    inflater = zlib.decompressobj()
    packet = inflater.decompress(compressed, MAX_XMP_BYTES)
    if inflater.unconsumed_tail or (len(packet) >= MAX_XMP_BYTES and not inflater.eof):
        raise MetadataError(_("its XMP metadata unpacks to more than {limit} MB, which no real picture needs "
                              "(a compression bomb)").format(limit=MAX_XMP_BYTES >> 20))
    return packet


def png_with_alt_text(data: bytes, alt_text: str) -> bytes:
    chunks = png_chunks(data)
    old_xmp = None
    kept = []
    for ctype, body, crc in chunks:
        if ctype == b"iTXt" and body.startswith(PNG_XMP_KEYWORD + b"\x00"):
            if old_xmp is None:
                old_xmp = png_itxt_text(body)
            continue
        kept.append((ctype, body, crc))
    itxt = PNG_XMP_KEYWORD + b"\x00\x00\x00" + b"\x00" + b"\x00" + build_xmp(alt_text, old_xmp)
    new_chunk = (b"iTXt", itxt, struct.pack(">I", zlib.crc32(b"iTXt" + itxt) & 0xFFFFFFFF))
    at = next(i for i, (t, _, _) in enumerate(kept) if t in (b"IDAT", b"IEND"))
    kept.insert(at, new_chunk)
    out = bytearray(PNG_SIGNATURE)
    for ctype, body, crc in kept:
        out += struct.pack(">I", len(body)) + ctype + body + crc
    return bytes(out)


def riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise MetadataError(_("the WebP header is missing"))
    (riff_size,) = struct.unpack("<I", data[4:8])
    end = min(len(data), 8 + riff_size)
    if 8 + riff_size > len(data):
        raise MetadataError(_("the WebP file is truncated"))
    pos, chunks = 12, []
    while pos + 8 <= end:
        fourcc = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        body = data[pos + 8 : pos + 8 + size]
        if len(body) != size:
            raise MetadataError(_("the WebP file is truncated"))
        chunks.append((fourcc, body))
        pos += 8 + size + (size & 1)
    if not chunks:
        raise MetadataError(_("the WebP file has no image data"))
    return chunks


def webp_canvas(chunks: list[tuple[bytes, bytes]]) -> tuple[int, int, bool]:
    fourcc, body = chunks[0]
    if fourcc == b"VP8 ":
        if len(body) < 10 or body[3:6] != b"\x9d\x01\x2a":
            raise MetadataError(_("the WebP (VP8) bitstream header is not valid"))
        w, h = struct.unpack("<HH", body[6:10])
        return w & 0x3FFF, h & 0x3FFF, any(c[0] == b"ALPH" for c in chunks)
    if fourcc == b"VP8L":
        if len(body) < 5 or body[0] != 0x2F:
            raise MetadataError(_("the WebP (VP8L) bitstream header is not valid"))
        (bits,) = struct.unpack("<I", body[1:5])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool((bits >> 28) & 1)
    raise MetadataError(_("unexpected first WebP chunk {fourcc!r}").format(fourcc=fourcc))


def webp_with_alt_text(data: bytes, alt_text: str) -> bytes:
    chunks = riff_chunks(data)
    old_xmp = next((body for fourcc, body in chunks if fourcc == b"XMP "), None)
    chunks = [c for c in chunks if c[0] != b"XMP "]
    if chunks[0][0] == b"VP8X":
        vp8x = bytearray(chunks[0][1])
        if len(vp8x) < 10:
            raise MetadataError(_("the WebP VP8X header is too short"))
        vp8x[0] |= 0x04  # XMP metadata present
        chunks[0] = (b"VP8X", bytes(vp8x))
    else:
        width, height, alpha = webp_canvas(chunks)
        flags = 0x04 | (0x10 if alpha else 0)
        vp8x = bytes((flags, 0, 0, 0)) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        chunks.insert(0, (b"VP8X", vp8x))
    chunks.append((b"XMP ", build_xmp(alt_text, old_xmp)))
    body = bytearray(b"WEBP")
    for fourcc, payload in chunks:
        body += fourcc + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1 else b"")
    return b"RIFF" + struct.pack("<I", len(body)) + bytes(body)
