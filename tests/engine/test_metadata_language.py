"""Alt text in the user's language goes into XMP as lang-alt with x-default and its own language tag,
read back with exiftool (an independent reader)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from describe_aloud.engine import metadata
from describe_aloud.engine.lang_text import LangText, bcp47
from tests.fixtures.photo_folder import encode, noise_image

EXIFTOOL = shutil.which("exiftool")
pytestmark = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool (libimage-exiftool-perl) is installed by setup.sh")

CHINESE = "一只狗躺在海滩上。文字：“出口”。"


def read(path: Path, *tags: str) -> dict:
    out = subprocess.run([EXIFTOOL, "-j", "-charset", "UTF8", *tags, str(path)], capture_output=True,
                         text=True, check=True, encoding="utf-8")
    return json.loads(out.stdout)[0]


def test_language_tags():
    assert bcp47("zh_CN") == "zh-CN" and bcp47("de_DE.UTF-8") == "de-DE" and bcp47(None) is None
    text = LangText(CHINESE, "zh_CN")
    assert text == CHINESE and text.language == "zh-CN" and isinstance(text, str)


@pytest.mark.parametrize("name,fmt", [("photo.jpg", "JPEG"), ("photo.png", "PNG"), ("photo.webp", "WEBP"),
                                      ("photo.tif", "TIFF")])
def test_alt_text_in_chinese_is_x_default_and_zh_cn(tmp_path, name, fmt):
    path = tmp_path / name
    path.write_bytes(encode(noise_image(3, (64, 48)), fmt))
    assert metadata.write_alt_text(path, LangText(CHINESE, "zh_CN")).ok
    tags = read(path, "-XMP-iptcCore:AltTextAccessibility", "-XMP-iptcCore:AltTextAccessibility-zh-CN",
                "-XMP-dc:Description", "-XMP-dc:Description-zh-CN")
    assert tags["AltTextAccessibility"] == CHINESE and tags["AltTextAccessibility-zh-CN"] == CHINESE
    assert tags["Description"] == CHINESE and tags["Description-zh-CN"] == CHINESE
    assert metadata.read_alt_text(path) == CHINESE


def test_a_second_language_is_added_and_the_first_kept_in_a_sidecar(tmp_path):
    image = tmp_path / "IMG_2.jpg"
    image.write_bytes(encode(noise_image(4, (64, 48)), "JPEG"))
    assert metadata.write_xmp_sidecar(image, LangText(CHINESE, "zh_CN")).ok
    german = "Ein Hund liegt am Strand."
    assert metadata.write_xmp_sidecar(image, LangText(german, "de")).ok
    tags = read(metadata.xmp_sidecar_path(image), "-XMP-dc:Description", "-XMP-dc:Description-zh-CN",
                "-XMP-dc:Description-de")
    assert tags["Description"] == german  # x-default: the latest
    assert tags["Description-de"] == german and tags["Description-zh-CN"] == CHINESE


def test_plain_english_alt_text_gets_x_default_only(tmp_path):
    image = tmp_path / "IMG_3.png"
    image.write_bytes(encode(noise_image(5, (64, 48)), "PNG"))
    assert metadata.write_alt_text(image, "A dog on a beach.").ok
    packet = image.read_bytes()
    assert b'xml:lang="x-default"' in packet and packet.count(b"xml:lang=") == 2  # two properties
