"""Alt text written into image files and XMP sidecars, read back with exiftool (an independent reader)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from describe_aloud.engine import metadata
from tests.fixtures.photo_folder import encode, noise_image

EXIFTOOL = shutil.which("exiftool")
pytestmark = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool (libimage-exiftool-perl) is installed by .ci/run")

NON_ASCII = "Café sign 北京 😀 שלום مرحبا"
BMP_ONLY = "Café sign 北京 שלום مرحبا"  # no character outside the Basic Multilingual Plane
ASCII = "A dog on a beach."


def exif_read(path: Path, *tags: str) -> dict:
    tags = tags or ("-XMP-iptcCore:AltTextAccessibility", "-XMP-dc:Description", "-EXIF:ImageDescription",
                    "-XPComment")
    out = subprocess.run([EXIFTOOL, "-j", "-charset", "UTF8", *tags, str(path)], capture_output=True,
                         text=True, check=True, encoding="utf-8")
    return json.loads(out.stdout)[0]


def pixels(path: Path) -> tuple:
    with Image.open(path) as im:
        frames = []
        for i in range(getattr(im, "n_frames", 1)):
            im.seek(i)
            im.load()
            frames.append(hashlib.sha256(im.tobytes()).hexdigest())
        return im.mode, im.size, tuple(frames)


def make(tmp_path: Path, name: str, fmt: str, *, mode: str = "RGB", **params) -> Path:
    path = tmp_path / name
    path.write_bytes(encode(noise_image(3, (80, 60), mode=mode), fmt, **params))
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_123_456_789))
    os.chmod(path, 0o640)
    return path


CASES = [
    ("photo.jpg", "JPEG", {"quality": 90}, "RGB"),
    ("grey.jpg", "JPEG", {"quality": 90}, "L"),
    ("photo.png", "PNG", {}, "RGB"),
    ("alpha.png", "PNG", {}, "RGBA"),
    ("lossy.webp", "WEBP", {"quality": 80}, "RGB"),
    ("lossless.webp", "WEBP", {"lossless": True}, "RGB"),
    ("alpha.webp", "WEBP", {"lossless": True}, "RGBA"),
    ("plain.tif", "TIFF", {}, "RGB"),
    ("lzw.tif", "TIFF", {"compression": "tiff_lzw"}, "RGB"),
]


@pytest.mark.parametrize("name,fmt,params,mode", CASES, ids=[c[0] for c in CASES])
def test_round_trip_non_ascii_pixels_mtime_and_mode_kept(tmp_path, name, fmt, params, mode):
    path = make(tmp_path, name, fmt, mode=mode, **params)
    before_pixels, before_stat = pixels(path), path.stat()

    result = metadata.write_alt_text(path, NON_ASCII)

    assert result.ok, result.reason
    tags = exif_read(path)
    assert tags["AltTextAccessibility"] == NON_ASCII
    assert tags["Description"] == NON_ASCII
    assert pixels(path) == before_pixels
    after = path.stat()
    assert after.st_mtime_ns == before_stat.st_mtime_ns
    assert after.st_mode == before_stat.st_mode
    assert after.st_size > before_stat.st_size
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(metadata.TMP_SUFFIX)]


def test_jpeg_exif_description_is_ascii_only_and_xpcomment_is_utf16(tmp_path):
    path = make(tmp_path, "a.jpg", "JPEG")
    assert metadata.write_alt_text(path, "A café – “quoted”").ok
    tags = exif_read(path)
    assert tags["ImageDescription"] == 'A cafe - "quoted"'
    assert tags["XPComment"] == "A café – “quoted”"

    assert metadata.write_alt_text(path, BMP_ONLY, ours=metadata.hashes_of_written("A café – “quoted”")).ok
    tags = exif_read(path)
    # CJK / Hebrew / Arabic cannot be written as ASCII: the tag is left out rather than mangled.
    assert "ImageDescription" not in tags or tags["ImageDescription"] == 'A cafe - "quoted"'
    assert tags["XPComment"] == BMP_ONLY
    # Emoji: exiftool 12 decodes XP tags as UCS-2, so check the raw UTF-16LE bytes with Pillow.
    assert metadata.write_alt_text(path, NON_ASCII, ours=metadata.hashes_of_written(BMP_ONLY)).ok
    with Image.open(path) as im:
        raw = im.getexif()[metadata.TAG_XP_COMMENT]
    assert bytes(raw).decode("utf-16-le").rstrip("\x00") == NON_ASCII


def test_existing_exif_and_xmp_are_kept_and_merged(tmp_path):
    img = noise_image(5, (80, 60))
    exif = img.getexif()
    exif[0x010F] = "Canon"
    exif[0x0112] = 6  # orientation: must survive, or the photo would turn sideways
    path = tmp_path / "camera.jpg"
    img.save(path, exif=exif, quality=90)
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", "-XMP-dc:Creator=Alice", "-XMP-dc:Description-de=Ein Hund",
                    str(path)], check=True)
    before = pixels(path)

    assert metadata.write_alt_text(path, "First text").ok
    # A second run replaces ours (its hash recorded, as the batch does), adds nothing.
    assert metadata.write_alt_text(path, ASCII, ours=metadata.hashes_of_written("First text")).ok

    tags = exif_read(path, "-XMP-iptcCore:AltTextAccessibility", "-XMP-dc:Description", "-XMP-dc:Description-de",
                     "-XMP-dc:Creator", "-EXIF:Make", "-EXIF:Orientation#", "-EXIF:ImageDescription")
    assert tags["AltTextAccessibility"] == ASCII
    assert tags["Description"] == ASCII
    assert tags["Description-de"] == "Ein Hund"
    assert tags["Creator"] == "Alice"
    assert tags["Make"] == "Canon"
    assert tags["Orientation"] == 6
    assert tags["ImageDescription"] == ASCII
    assert pixels(path) == before
    data = path.read_bytes()
    assert data.count(metadata.XMP_JPEG_HEADER) == 1
    assert data.count(metadata.EXIF_HEADER) == 1


def test_second_write_replaces_ours_and_keeps_one_packet(tmp_path):
    for name, fmt in (("a.png", "PNG"), ("b.webp", "WEBP"), ("c.tif", "TIFF"), ("d.jpg", "JPEG")):
        path = make(tmp_path, name, fmt)
        assert metadata.write_alt_text(path, "one").ok
        assert metadata.write_alt_text(path, "two", ours=metadata.hashes_of_written("one")).ok
        assert exif_read(path)["AltTextAccessibility"] == "two"
        data = path.read_bytes()
        # TIFF: the first directory written last time is left unreferenced (documented), so count what a
        # reader sees rather than the bytes.
        if fmt != "TIFF":
            assert data.count(b"<Iptc4xmpCore:AltTextAccessibility>") == 1
        out = subprocess.run([EXIFTOOL, "-j", "-Warning", "-Error", str(path)], capture_output=True, text=True)
        info = json.loads(out.stdout)[0]
        assert "Error" not in info and "Warning" not in info, (name, info)


def test_exiftool_finds_no_format_problem(tmp_path):
    for name, fmt, params, mode in CASES:
        path = make(tmp_path, name, fmt, mode=mode, **params)
        assert metadata.write_alt_text(path, NON_ASCII).ok
        out = subprocess.run([EXIFTOOL, "-j", "-Warning", "-Error", str(path)], capture_output=True, text=True)
        info = json.loads(out.stdout)[0]
        assert "Error" not in info and "Warning" not in info, (name, info)


def test_damaged_files_are_left_untouched(tmp_path):
    # Cut inside the compressed data: the header parses, but the result would not decode the same.
    full = encode(noise_image(9, (120, 90)), "JPEG", quality=95)
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(full[: len(full) * 2 // 3])
    # A PNG with a damaged chunk checksum.
    png = bytearray(encode(noise_image(9), "PNG"))
    png[-20] ^= 0xFF
    bad_png = tmp_path / "bad.png"
    bad_png.write_bytes(bytes(png))
    for path in (truncated, bad_png):
        before = path.read_bytes()
        result = metadata.write_alt_text(path, ASCII)
        assert result.status == "failed"
        assert result.reason.startswith("left untouched")
        assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(metadata.TMP_SUFFIX)]


def test_unsupported_formats_and_hard_links_untouched(tmp_path):
    gif = make(tmp_path, "a.gif", "GIF")
    before = gif.read_bytes()
    result = metadata.write_alt_text(gif, ASCII)
    assert result.status == "unsupported" and "sidecar" in result.reason
    assert gif.read_bytes() == before

    jpg = make(tmp_path, "b.jpg", "JPEG")
    os.link(jpg, tmp_path / "b-link.jpg")
    before = jpg.read_bytes()
    result = metadata.write_alt_text(jpg, ASCII)
    assert result.status == "failed" and "hard link" in result.reason
    assert jpg.read_bytes() == before


def test_read_only_file_is_left_untouched(tmp_path):
    path = make(tmp_path, "locked.jpg", "JPEG")
    os.chmod(path, 0o444)
    before = path.read_bytes()
    result = metadata.write_alt_text(path, ASCII)
    assert result.status == "failed" and "read-only" in result.reason
    assert path.read_bytes() == before


def test_symlink_target_is_written_and_link_kept(tmp_path):
    target = make(tmp_path, "real.png", "PNG")
    link = tmp_path / "link.png"
    link.symlink_to(target)
    assert metadata.write_alt_text(link, ASCII).ok
    assert link.is_symlink()
    assert exif_read(target)["AltTextAccessibility"] == ASCII


def test_xmp_sidecar_created_then_merged_with_another_tools_sidecar(tmp_path):
    image = make(tmp_path, "IMG_1.jpg", "JPEG")
    before = image.read_bytes()
    sidecar = metadata.xmp_sidecar_path(image)
    assert sidecar.name == "IMG_1.jpg.xmp"
    subprocess.run([EXIFTOOL, "-q", "-XMP-dc:Creator=Alice", "-XMP-xmp:Rating=4", "-o", str(sidecar), str(image)],
                   check=True)

    result = metadata.write_xmp_sidecar(image, NON_ASCII)

    assert result.ok, result.reason
    tags = exif_read(sidecar, "-XMP-iptcCore:AltTextAccessibility", "-XMP-dc:Description", "-XMP-dc:Creator",
                     "-XMP-xmp:Rating")
    assert tags["AltTextAccessibility"] == NON_ASCII
    assert tags["Description"] == NON_ASCII
    assert tags["Creator"] == "Alice" and tags["Rating"] == 4
    assert image.read_bytes() == before


def test_sidecar_that_is_not_xmp_is_left_alone(tmp_path):
    image = make(tmp_path, "IMG_2.jpg", "JPEG")
    sidecar = metadata.xmp_sidecar_path(image)
    sidecar.write_text("my own notes, not XML", encoding="utf-8")
    result = metadata.write_xmp_sidecar(image, ASCII)
    assert result.status == "failed"
    assert sidecar.read_text(encoding="utf-8") == "my own notes, not XML"


def test_ascii_transliteration():
    assert metadata.ascii_or_none("Crème brûlée") == "Creme brulee"
    assert metadata.ascii_or_none("北京") is None
    assert metadata.ascii_or_none("hi 😀") is None


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # Pillow reading the damaged EXIF we planted
def test_jpeg_with_damaged_exif_keeps_it_and_still_gets_xmp(tmp_path):
    path = make(tmp_path, "odd.jpg", "JPEG")
    data = path.read_bytes()
    # An EXIF segment whose first directory points far outside it.
    bad_tiff = b"II*\x00" + (0xFFFF00).to_bytes(4, "little")
    payload = metadata.EXIF_HEADER + bad_tiff
    segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    path.write_bytes(data[:2] + segment + data[2:])
    before = pixels(path)
    result = metadata.write_alt_text(path, NON_ASCII)
    assert result.ok, result.reason
    assert exif_read(path)["AltTextAccessibility"] == NON_ASCII
    assert payload in path.read_bytes()
    assert pixels(path) == before


def test_malformed_xmp_chunk_is_reported_not_raised(tmp_path):
    import struct
    import zlib

    png = bytearray(encode(noise_image(4), "PNG"))
    body = metadata.PNG_XMP_KEYWORD + b"\x00\x01\x00\x00\x00" + b"not zlib data"  # "compressed", but is not
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body))
    path = tmp_path / "odd.png"
    path.write_bytes(bytes(png[:33]) + chunk + bytes(png[33:]))
    before = path.read_bytes()
    result = metadata.write_alt_text(path, ASCII)
    assert result.status == "failed" and result.reason.startswith("left untouched")
    assert path.read_bytes() == before
