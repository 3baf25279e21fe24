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
import re
import struct
import tempfile
import unicodedata
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

NS_X = "adobe:ns:meta/"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_IPTC = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
NS_XML = "http://www.w3.org/XML/1998/namespace"

_PREFIXES = {"x": NS_X, "rdf": NS_RDF, "dc": NS_DC, "Iptc4xmpCore": NS_IPTC}

XMP_JPEG_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
EXIF_HEADER = b"Exif\x00\x00"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"
TMP_SUFFIX = ".describe-aloud-tmp"

TAG_IMAGE_DESCRIPTION = 0x010E
TAG_XMP = 700
TAG_XP_COMMENT = 0x9C9C
TIFF_BYTE, TIFF_ASCII = 1, 2
_MAX_JPEG_SEGMENT = 65533  # payload bytes (the length field counts itself)


class MetadataError(Exception):
    """The file cannot be written safely; str() is a sentence for the user."""


@dataclass
class MetadataResult:
    path: str
    status: str  # "written" | "unsupported" | "failed"
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "written"


# --------------------------------------------------------------------------------------------- XMP


def _register_prefixes(extra: dict[str, str] | None = None) -> None:
    for prefix, uri in {**_PREFIXES, **(extra or {})}.items():
        if not prefix or re.fullmatch(r"ns\d+", prefix):
            continue
        try:
            ET.register_namespace(prefix, uri)
        except ValueError:
            pass


_XPACKET_RE = re.compile(rb"<\?xpacket[^>]*\?>")


def _strip_packet(packet: bytes) -> bytes:
    body = _XPACKET_RE.sub(b"", packet).strip(b" \t\r\n\x00")
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    return body


def _parse_xmp(packet: bytes) -> ET.Element:
    """Parse an XMP packet (with or without the x:xmpmeta wrapper); raises MetadataError when it is not XML."""
    body = _strip_packet(packet)
    namespaces: dict[str, str] = {}
    try:
        for event, item in ET.iterparse(BytesIO(body), events=("start-ns",)):
            prefix, uri = item
            namespaces.setdefault(prefix, uri)
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise MetadataError(f"the existing XMP metadata is not valid XML ({exc})") from None
    _register_prefixes(namespaces)
    return root


def _rdf_root(root: ET.Element) -> ET.Element:
    if root.tag == f"{{{NS_RDF}}}RDF":
        return root
    rdf = root.find(f"{{{NS_RDF}}}RDF")
    if rdf is None:
        raise MetadataError("the existing XMP metadata has no rdf:RDF element")
    return rdf


def _set_lang_alt(rdf: ET.Element, ns: str, name: str, text: str) -> None:
    """Set the x-default alternative of a lang-alt property, keeping any other languages."""
    tag = f"{{{ns}}}{name}"
    lang_attr = f"{{{NS_XML}}}lang"
    for desc in rdf.findall(f"{{{NS_RDF}}}Description"):
        # A simple attribute form is not valid for lang-alt; replace it by the element form below.
        desc.attrib.pop(tag, None)
    for desc in rdf.findall(f"{{{NS_RDF}}}Description"):
        prop = desc.find(tag)
        if prop is None:
            continue
        alt = prop.find(f"{{{NS_RDF}}}Alt")
        if alt is None:  # not a lang-alt: replace it by one
            desc.remove(prop)
            continue
        default = next((li for li in alt.findall(f"{{{NS_RDF}}}li") if li.get(lang_attr) == "x-default"), None)
        if default is None:
            default = ET.Element(f"{{{NS_RDF}}}li", {lang_attr: "x-default"})
            alt.insert(0, default)
        default.text = text
        return
    descs = rdf.findall(f"{{{NS_RDF}}}Description")
    if descs:
        desc = descs[0]
    else:
        desc = ET.SubElement(rdf, f"{{{NS_RDF}}}Description", {f"{{{NS_RDF}}}about": ""})
    prop = ET.SubElement(desc, tag)
    alt = ET.SubElement(prop, f"{{{NS_RDF}}}Alt")
    li = ET.SubElement(alt, f"{{{NS_RDF}}}li", {lang_attr: "x-default"})
    li.text = text


def build_xmp(alt_text: str, existing: bytes | None = None, *, padding: int = 1024) -> bytes:
    """An XMP packet (UTF-8) with the alt text set as AltTextAccessibility and dc:description.

    `existing`: a packet already in the file or sidecar; everything else in it is kept."""
    _register_prefixes()
    if existing and existing.strip(b" \t\r\n\x00"):
        root = _parse_xmp(existing)
        rdf = _rdf_root(root)
    else:
        root = ET.Element(f"{{{NS_X}}}xmpmeta")
        rdf = ET.SubElement(root, f"{{{NS_RDF}}}RDF")
        ET.SubElement(rdf, f"{{{NS_RDF}}}Description", {f"{{{NS_RDF}}}about": ""})
    _set_lang_alt(rdf, NS_IPTC, "AltTextAccessibility", alt_text)
    _set_lang_alt(rdf, NS_DC, "description", alt_text)
    body = ET.tostring(root, encoding="unicode")
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        + body
        + "\n"
        + (" " * 99 + "\n") * (padding // 100)
        + '<?xpacket end="w"?>'
    )
    return packet.encode("utf-8")


def read_xmp_alt_text(packet: bytes) -> str | None:
    """The x-default AltTextAccessibility in a packet (used to verify our own writes)."""
    rdf = _rdf_root(_parse_xmp(packet))
    for desc in rdf.findall(f"{{{NS_RDF}}}Description"):
        prop = desc.find(f"{{{NS_IPTC}}}AltTextAccessibility")
        if prop is None:
            continue
        for li in prop.iter(f"{{{NS_RDF}}}li"):
            if li.get(f"{{{NS_XML}}}lang") == "x-default":
                return li.text or ""
    return None


# ----------------------------------------------------------------------------- text for EXIF tags


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


def _tiff_header(data: bytes) -> tuple[str, int]:
    if data[:4] == b"II*\x00":
        return "<", struct.unpack("<I", data[4:8])[0]
    if data[:4] == b"MM\x00*":
        return ">", struct.unpack(">I", data[4:8])[0]
    if data[:4] in (b"II+\x00", b"MM\x00+"):
        raise MetadataError("BigTIFF files are not supported for writing")
    raise MetadataError("the TIFF header is not valid")


def _read_ifd(data: bytes, order: str, offset: int) -> tuple[dict[int, bytes], int]:
    """Raw 12-byte entries by tag, and the next-IFD offset."""
    if offset < 8 or offset + 2 > len(data):
        raise MetadataError("the first TIFF directory points outside the file")
    (count,) = struct.unpack(order + "H", data[offset : offset + 2])
    end = offset + 2 + 12 * count
    if end + 4 > len(data):
        raise MetadataError("the first TIFF directory is truncated")
    entries = {}
    for i in range(count):
        raw = data[offset + 2 + 12 * i : offset + 14 + 12 * i]
        (tag,) = struct.unpack(order + "H", raw[:2])
        entries[tag] = raw
    (next_ifd,) = struct.unpack(order + "I", data[end : end + 4])
    return entries, next_ifd


def _appended_ifd0(head: bytes, total_len: int, new_tags: dict[int, tuple[int, bytes]]) -> tuple[bytes, int]:
    """Bytes to append to a TIFF structure of `total_len` bytes whose start is `head` (at least the header
    and IFD0): a copy of IFD0 with `new_tags` ({tag: (type, value bytes)}) set, followed by the new values.
    Returns (bytes to append, offset of the new IFD0). Existing entries keep their raw bytes, so their
    offsets into the untouched data stay valid."""
    order, ifd0 = _tiff_header(head)
    entries, next_ifd = _read_ifd(head, order, ifd0)
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
        count = len(value)  # BYTE / ASCII / UNDEFINED: one byte per item
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
        raise MetadataError("the TIFF file would grow beyond 4 GB")
    return appended, new_ifd_offset


def _tiff_read_tag(data: bytes, tag: int) -> bytes | None:
    """The raw value of an IFD0 tag of type BYTE / ASCII / UNDEFINED, or None."""
    order, ifd0 = _tiff_header(data)
    entries, _ = _read_ifd(data, order, ifd0)
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


def _exif_with_tags(exif_tiff: bytes | None, new_tags: dict[int, tuple[int, bytes]]) -> bytes:
    if exif_tiff is None:
        exif_tiff = b"II*\x00" + struct.pack("<I", 8) + b"\x00\x00" + b"\x00\x00\x00\x00"
    appended, offset = _appended_ifd0(exif_tiff, len(exif_tiff), new_tags)
    order, _ = _tiff_header(exif_tiff)
    return exif_tiff[:4] + struct.pack(order + "I", offset) + exif_tiff[8:] + appended


# ------------------------------------------------------------------------------------- formats


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


def _jpeg_segments(data: bytes) -> tuple[list[tuple[int, bytes]], int]:
    """(marker, payload) for each segment before the scan, and the offset where the scan (SOS) starts."""
    if data[:2] != b"\xff\xd8":
        raise MetadataError("the JPEG start marker is missing")
    pos, segments = 2, []
    while True:
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise MetadataError("the JPEG header is damaged")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the rest is copied untouched
            return segments, pos
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            raise MetadataError("the JPEG header is damaged")
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2 or pos + 2 + length > len(data):
            raise MetadataError("a JPEG header segment is truncated")
        segments.append((marker, data[pos + 4 : pos + 2 + length]))
        pos += 2 + length


def _jpeg_with_alt_text(data: bytes, alt_text: str) -> bytes:
    segments, scan_start = _jpeg_segments(data)
    exif_i = next((i for i, (m, p) in enumerate(segments) if m == 0xE1 and p.startswith(EXIF_HEADER)), None)
    xmp_i = next((i for i, (m, p) in enumerate(segments) if m == 0xE1 and p.startswith(XMP_JPEG_HEADER)), None)

    old_xmp = segments[xmp_i][1][len(XMP_JPEG_HEADER):] if xmp_i is not None else None
    xmp_payload = XMP_JPEG_HEADER + build_xmp(alt_text, old_xmp)
    if len(xmp_payload) > _MAX_JPEG_SEGMENT:
        xmp_payload = XMP_JPEG_HEADER + build_xmp(alt_text, old_xmp, padding=0)
    if len(xmp_payload) > _MAX_JPEG_SEGMENT:
        raise MetadataError("the XMP metadata would not fit in one JPEG segment")

    tags: dict[int, tuple[int, bytes]] = {TAG_XP_COMMENT: (TIFF_BYTE, alt_text.encode("utf-16-le") + b"\x00\x00")}
    ascii_text = ascii_or_none(alt_text)
    if ascii_text is not None:
        tags[TAG_IMAGE_DESCRIPTION] = (TIFF_ASCII, ascii_text.encode("ascii") + b"\x00")
    old_exif = segments[exif_i][1][len(EXIF_HEADER):] if exif_i is not None else None
    try:
        exif_payload = EXIF_HEADER + _exif_with_tags(old_exif, tags)
        if len(exif_payload) > _MAX_JPEG_SEGMENT:
            raise MetadataError("the EXIF metadata would not fit in one JPEG segment")
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


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """(type, data, crc) for each chunk, checking CRCs so that a damaged file is never rewritten."""
    if data[:8] != PNG_SIGNATURE:
        raise MetadataError("the PNG signature is missing")
    pos, chunks = 8, []
    while pos < len(data):
        if pos + 12 > len(data):
            raise MetadataError("the PNG file is truncated")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        crc = data[pos + 8 + length : pos + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise MetadataError("the PNG file is truncated")
        if struct.unpack(">I", crc)[0] != zlib.crc32(ctype + body) & 0xFFFFFFFF:
            raise MetadataError(f"the PNG chunk {ctype.decode('latin-1')!r} is damaged (bad checksum)")
        chunks.append((ctype, body, crc))
        pos += 12 + length
        if ctype == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        raise MetadataError("the PNG file is incomplete")
    return chunks


def _png_itxt_text(body: bytes) -> bytes:
    keyword, _, rest = body.partition(b"\x00")
    compressed, _method = rest[0], rest[1]
    rest = rest[2:]
    _lang, _, rest = rest.partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    return zlib.decompress(text) if compressed else text


def _png_with_alt_text(data: bytes, alt_text: str) -> bytes:
    chunks = _png_chunks(data)
    old_xmp = None
    kept = []
    for ctype, body, crc in chunks:
        if ctype == b"iTXt" and body.startswith(PNG_XMP_KEYWORD + b"\x00"):
            if old_xmp is None:
                old_xmp = _png_itxt_text(body)
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


def _riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise MetadataError("the WebP header is missing")
    (riff_size,) = struct.unpack("<I", data[4:8])
    end = min(len(data), 8 + riff_size)
    if 8 + riff_size > len(data):
        raise MetadataError("the WebP file is truncated")
    pos, chunks = 12, []
    while pos + 8 <= end:
        fourcc = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        body = data[pos + 8 : pos + 8 + size]
        if len(body) != size:
            raise MetadataError("the WebP file is truncated")
        chunks.append((fourcc, body))
        pos += 8 + size + (size & 1)
    if not chunks:
        raise MetadataError("the WebP file has no image data")
    return chunks


def _webp_canvas(chunks: list[tuple[bytes, bytes]]) -> tuple[int, int, bool]:
    fourcc, body = chunks[0]
    if fourcc == b"VP8 ":
        if len(body) < 10 or body[3:6] != b"\x9d\x01\x2a":
            raise MetadataError("the WebP (VP8) bitstream header is not valid")
        w, h = struct.unpack("<HH", body[6:10])
        return w & 0x3FFF, h & 0x3FFF, any(c[0] == b"ALPH" for c in chunks)
    if fourcc == b"VP8L":
        if len(body) < 5 or body[0] != 0x2F:
            raise MetadataError("the WebP (VP8L) bitstream header is not valid")
        (bits,) = struct.unpack("<I", body[1:5])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool((bits >> 28) & 1)
    raise MetadataError(f"unexpected first WebP chunk {fourcc!r}")


def _webp_with_alt_text(data: bytes, alt_text: str) -> bytes:
    chunks = _riff_chunks(data)
    old_xmp = next((body for fourcc, body in chunks if fourcc == b"XMP "), None)
    chunks = [c for c in chunks if c[0] != b"XMP "]
    if chunks[0][0] == b"VP8X":
        vp8x = bytearray(chunks[0][1])
        if len(vp8x) < 10:
            raise MetadataError("the WebP VP8X header is too short")
        vp8x[0] |= 0x04  # XMP metadata present
        chunks[0] = (b"VP8X", bytes(vp8x))
    else:
        width, height, alpha = _webp_canvas(chunks)
        flags = 0x04 | (0x10 if alpha else 0)
        vp8x = bytes((flags, 0, 0, 0)) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        chunks.insert(0, (b"VP8X", vp8x))
    chunks.append((b"XMP ", build_xmp(alt_text, old_xmp)))
    body = bytearray(b"WEBP")
    for fourcc, payload in chunks:
        body += fourcc + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1 else b"")
    return b"RIFF" + struct.pack("<I", len(body)) + bytes(body)


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
            raise MetadataError(f"the rewritten file could not be decoded ({exc})") from None
        if not same:
            raise MetadataError("the rewritten file did not decode to the same pixels")
        if read_alt_text(tmp, fmt=fmt) != alt_text:
            raise MetadataError("the alt text could not be read back from the rewritten file")
        os.chmod(tmp, st.st_mode & 0o7777)
        try:
            os.chown(tmp, st.st_uid, st.st_gid)
        except OSError:
            pass  # not allowed for a normal user unless it is already ours; the permissions are kept
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        # The original must not have changed while we worked on it.
        now = os.stat(path)
        if (now.st_size, now.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
            raise MetadataError("the file changed while the metadata was being written")
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
        segments, _ = _jpeg_segments(data)
        packet = next((p[len(XMP_JPEG_HEADER):] for m, p in segments if m == 0xE1 and p.startswith(XMP_JPEG_HEADER)), None)
    elif fmt == "png":
        packet = next((_png_itxt_text(b) for t, b, _ in _png_chunks(data)
                       if t == b"iTXt" and b.startswith(PNG_XMP_KEYWORD + b"\x00")), None)
    elif fmt == "webp":
        packet = next((b for f, b in _riff_chunks(data) if f == b"XMP "), None)
    elif fmt == "tiff":
        packet = _tiff_read_tag(data, TAG_XMP)
    return read_xmp_alt_text(packet) if packet else None


def write_alt_text(path: str | os.PathLike, alt_text: str) -> MetadataResult:
    """Write `alt_text` into the image file at `path` (see the module docstring). Never raises for a file
    problem: returns a MetadataResult whose `reason` is a sentence for the user."""
    shown = str(path)
    real = os.path.realpath(path)  # through a symlink: rewrite the target, keep the link
    try:
        st = os.stat(real)
        if not st.st_mode & 0o222:
            # Replacing it would work (the folder is writable) but the owner marked it not to be changed.
            return MetadataResult(shown, "failed", "left untouched: the file is read-only")
        if st.st_nlink > 1:
            return MetadataResult(shown, "failed", "left untouched: the file has other hard links, "
                                  "which replacing it would break")
        with open(real, "rb") as fh:
            head = fh.read(16)
        fmt = sniff_format(head)
        if fmt not in WRITABLE_FORMATS:
            what = {"gif": "GIF", "bmp": "BMP", "heif": "HEIC/HEIF"}.get(fmt or "", "this")
            return MetadataResult(shown, "unsupported", f"{what} files cannot hold alt text here; "
                                  "use --sidecar xmp instead")
        if fmt == "tiff":
            _write_tiff(real, alt_text)
        else:
            data = Path(real).read_bytes()
            rewrite = {"jpeg": _jpeg_with_alt_text, "png": _png_with_alt_text, "webp": _webp_with_alt_text}[fmt]
            new = rewrite(data, alt_text)
            _replace_verified(real, lambda fh: fh.write(new), alt_text=alt_text, fmt=fmt)
    except MetadataError as exc:
        return MetadataResult(shown, "failed", f"left untouched: {exc}")
    except OSError as exc:
        return MetadataResult(shown, "failed", f"left untouched: {exc.strerror or exc}")
    except (struct.error, zlib.error, IndexError, ValueError, UnicodeError) as exc:
        # A malformed structure our parser did not foresee: nothing was replaced.
        return MetadataResult(shown, "failed", f"left untouched: its metadata could not be parsed ({exc})")
    return MetadataResult(shown, "written")


def _write_tiff(path: str, alt_text: str) -> None:
    with open(path, "rb") as fh:
        head = fh.read(8)
        order, ifd0 = _tiff_header(head)
        size = os.fstat(fh.fileno()).st_size
        if ifd0 + 2 > size:
            raise MetadataError("the first TIFF directory points outside the file")
        fh.seek(ifd0)
        (count,) = struct.unpack(order + "H", fh.read(2))
        fh.seek(ifd0)
        ifd_bytes = fh.read(2 + 12 * count + 4)
        # Present just the header and IFD0 at their real offsets to the IFD helpers (sparse view).
        view = _SparseView(size, {0: head, ifd0: ifd_bytes})
        old_xmp = None
        entries, _ = _read_ifd(view, order, ifd0)
        if TAG_XMP in entries:
            _, type_, cnt = struct.unpack(order + "HHI", entries[TAG_XMP][:8])
            (off,) = struct.unpack(order + "I", entries[TAG_XMP][8:12])
            if cnt > 4 and off + cnt <= size:
                fh.seek(off)
                old_xmp = fh.read(cnt)
    packet = build_xmp(alt_text, old_xmp)
    appended, new_ifd0 = _appended_ifd0(view, size, {TAG_XMP: (TIFF_BYTE, packet)})

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
        raise MetadataError("the TIFF directory could not be read")


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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_xmp_sidecar(image_path: str | os.PathLike, alt_text: str) -> MetadataResult:
    """Create or update `IMG_1.jpg.xmp`. An existing sidecar (ours or another tool's) is merged: only the
    two alt-text properties change; one that is not valid XMP is left untouched and reported."""
    sidecar = xmp_sidecar_path(image_path)
    try:
        existing = sidecar.read_bytes() if sidecar.exists() else None
        packet = build_xmp(alt_text, existing, padding=0)
        # A sidecar is a plain XMP document: no xpacket wrapper needed, but it does no harm either.
        atomic_write_bytes(sidecar, packet)
    except MetadataError as exc:
        return MetadataResult(str(sidecar), "failed", f"left untouched: {exc}")
    except OSError as exc:
        return MetadataResult(str(sidecar), "failed", f"not written: {exc.strerror or exc}")
    return MetadataResult(str(sidecar), "written")
