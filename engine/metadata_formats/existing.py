"""Alt text already in an image file, and whether Describe Aloud wrote it.

--write-metadata must never replace a description a person (or another tool) wrote into the picture. Only
the fields we would overwrite are looked at: the XMP AltTextAccessibility and dc:description (every
language), and in a JPEG the EXIF ImageDescription and XPComment. A text is ours when its hash is one we
recorded when we wrote it (engine.journal keeps them), or when it is exactly the text about to be written.
Camera boilerplate ("OLYMPUS DIGITAL CAMERA") is not alt text and does not count.
"""
from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

from describe_aloud.engine.lang_text import language_of
from describe_aloud.engine.metadata_formats import MetadataError
from describe_aloud.engine.metadata_formats.containers import (
    EXIF_HEADER,
    PNG_XMP_KEYWORD,
    XMP_JPEG_HEADER,
    jpeg_segments,
    png_chunks,
    png_itxt_text,
    riff_chunks,
)
from describe_aloud.engine.metadata_formats.tiff import (
    TAG_IMAGE_DESCRIPTION,
    TAG_XMP,
    TAG_XP_COMMENT,
    ascii_or_none,
    tiff_read_tag,
)
from describe_aloud.engine.metadata_formats.xmp import NS_DC, NS_IPTC, NS_RDF, NS_XML, _parse_xmp, _rdf_root
from describe_aloud.engine.text_safety import xml_text

# What cameras put in EXIF ImageDescription on their own (upper-cased, stripped).
CAMERA_BOILERPLATE = frozenset({
    "OLYMPUS DIGITAL CAMERA", "SONY DSC", "DIGITAL CAMERA", "KONICA MINOLTA DIGITAL CAMERA",
    "MINOLTA DIGITAL CAMERA", "SAMSUNG DIGITAL CAMERA", "DCF 1.0", "DEFAULT", "IMAGE",
})


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def hashes_of_written(alt_text: str) -> set[str]:
    """Hashes of every form of `alt_text` that writing it puts into a file (XMP text, EXIF ASCII)."""
    text = xml_text(str(alt_text))
    forms = {text.strip(), (ascii_or_none(text) or "").strip()}
    return {text_hash(f) for f in forms if f}


def _xmp_texts(packet: bytes | None, language: str | None) -> list[str]:
    """The x-default (and `language`) alternatives of the two properties: the ones writing replaces; the
    other languages are kept by the merge, so they do not count."""
    if not packet:
        return []
    rdf = _rdf_root(_parse_xmp(packet))
    replaced = {"x-default", (language or "x-default").lower().replace("_", "-")}
    texts = []
    for desc in rdf.findall(f"{{{NS_RDF}}}Description"):
        for tag in (f"{{{NS_IPTC}}}AltTextAccessibility", f"{{{NS_DC}}}description"):
            if desc.get(tag):  # the (invalid for lang-alt, but seen) attribute form
                texts.append(desc.get(tag))
            prop = desc.find(tag)
            if prop is None:
                continue
            alt = prop.find(f"{{{NS_RDF}}}Alt")
            if alt is None:  # not a lang-alt (a plain text): writing replaces it
                texts.append("".join(prop.itertext()))
                continue
            texts.extend(li.text or "" for li in alt.findall(f"{{{NS_RDF}}}li")
                         if (li.get(f"{{{NS_XML}}}lang") or "x-default").lower() in replaced)
    return texts


def _exif_texts(exif_tiff: bytes, description_replaced: bool) -> list[str]:
    """XPComment, and ImageDescription when writing replaces it (only a text with an ASCII form is
    written there; otherwise the old one stays, so it cannot be lost)."""
    texts = []
    description = tiff_read_tag(exif_tiff, TAG_IMAGE_DESCRIPTION) if description_replaced else None
    if description:
        text = description.split(b"\x00", 1)[0].decode("latin-1")
        if text.strip().upper() not in CAMERA_BOILERPLATE:
            texts.append(text)
    comment = tiff_read_tag(exif_tiff, TAG_XP_COMMENT)
    if comment:
        texts.append(comment.decode("utf-16-le", "replace").split("\x00", 1)[0])
    return texts


def existing_alt_texts(path: str | os.PathLike, fmt: str, language: str | None = None, *,
                       ascii_form: bool = True) -> list[str]:
    """The non-empty alt texts in the fields writing would replace. Raises MetadataError / struct.error /
    ValueError for a file whose metadata cannot be parsed (the caller leaves it untouched)."""
    data = Path(path).read_bytes()
    texts: list[str] = []
    if fmt == "jpeg":
        segments, _scan = jpeg_segments(data)
        for marker, payload in segments:
            if marker == 0xE1 and payload.startswith(XMP_JPEG_HEADER):
                texts += _xmp_texts(payload[len(XMP_JPEG_HEADER):], language)
            elif marker == 0xE1 and payload.startswith(EXIF_HEADER):
                try:
                    texts += _exif_texts(payload[len(EXIF_HEADER):], ascii_form)
                except (MetadataError, struct.error, ValueError):
                    pass  # EXIF we cannot parse is kept byte for byte by the writer: nothing of it is lost
    elif fmt == "png":
        for ctype, body, _crc in png_chunks(data):
            if ctype == b"iTXt" and body.startswith(PNG_XMP_KEYWORD + b"\x00"):
                texts += _xmp_texts(png_itxt_text(body), language)
    elif fmt == "webp":
        texts += _xmp_texts(next((b for f, b in riff_chunks(data) if f == b"XMP "), None), language)
    elif fmt == "tiff":
        texts += _xmp_texts(tiff_read_tag(data, TAG_XMP), language)
    return [t.strip() for t in texts if t and t.strip()]


def foreign_alt_text(path: str | os.PathLike, fmt: str, new_text: str, ours: set[str]) -> str | None:
    """The first alt text in the file that Describe Aloud did not write (`ours`: recorded hashes), or None."""
    allowed = set(ours) | hashes_of_written(new_text)
    language = language_of(new_text)
    ascii_form = ascii_or_none(xml_text(str(new_text))) is not None
    return next((t for t in existing_alt_texts(path, fmt, language, ascii_form=ascii_form) if text_hash(t) not in allowed), None)


# The journal (engine.journal.Journal.written_hash) keeps, per image, the hashes of the alt texts we wrote
# into it, under the image's path plus this suffix (the same table as the hashes of the files we wrote).
_JOURNAL_SUFFIX = "#alt-text"
_KEPT_HASHES = 8


def recorded_hashes(journal, image_path: str | os.PathLike) -> set[str]:
    value = journal.written_hash(os.path.realpath(image_path) + _JOURNAL_SUFFIX) or ""
    return {h for h in value.split(",") if h}


def record_before_writing(journal, image_path: str | os.PathLike, alt_text: str) -> set[str]:
    """Record the hashes of `alt_text` BEFORE it is written (a crash between the two must not make our own
    text look like someone else's on the next run). Returns the hashes that count as ours."""
    ours = recorded_hashes(journal, image_path)
    new = hashes_of_written(alt_text)
    kept = sorted(new) + sorted(ours - new)
    journal.set_written_hash(os.path.realpath(image_path) + _JOURNAL_SUFFIX, ",".join(kept[:_KEPT_HASHES]))
    return ours | new


def adopt_earlier_alt_text(journal, folder: str | os.PathLike) -> int:
    """A journal of an older version recorded no hashes, but its entries say which files it wrote alt
    text into, and what: that text counts as ours, so the upgraded batch may replace it (and only it: a
    person's later edit has another hash). Returns how many files were adopted."""
    adopted = 0
    for entry in list(journal.entries("done")):  # read first: the loop writes to the same database
        if entry.metadata_status != "written" or not entry.alt_text:
            continue
        image = Path(folder) / entry.path
        if recorded_hashes(journal, image):
            continue
        journal.set_written_hash(os.path.realpath(image) + _JOURNAL_SUFFIX,
                                 ",".join(sorted(hashes_of_written(entry.alt_text))[:_KEPT_HASHES]))
        adopted += 1
    return adopted

