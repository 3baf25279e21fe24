"""Image loading: every format quirk ends as the RGB picture a viewer shows; every bad file gets its own sentence."""
from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from describe_aloud.engine.errors import ImageLoadError
from describe_aloud.engine.images import image_from_bytes, load_image, to_rgb
from tests.fixtures.images import bomb_png, png_bytes


def _saved(img: Image.Image, fmt: str = "PNG", **params) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return image_from_bytes(buf.getvalue(), f"test.{fmt.lower()}")


def test_exif_orientation_is_applied():
    # A wide picture whose EXIF says "rotate 90°": viewers show it tall, with the red half on top.
    img = Image.new("RGB", (40, 20), "blue")
    img.paste((255, 0, 0), (0, 0, 20, 20))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW to display
    loaded = _saved(img, "JPEG", exif=exif.tobytes(), quality=95)
    assert loaded.size == (20, 40)
    top = loaded.getpixel((10, 5))
    assert top[0] > 200 and top[2] < 60


def test_alpha_is_composited_on_white():
    img = Image.new("RGBA", (10, 10), (255, 0, 0, 0))  # fully transparent red
    img.putpixel((5, 5), (255, 0, 0, 255))
    loaded = _saved(img)
    assert loaded.mode == "RGB"
    assert loaded.getpixel((0, 0)) == (255, 255, 255)
    assert loaded.getpixel((5, 5)) == (255, 0, 0)


def test_grey_with_alpha_and_palette_with_transparency():
    la = Image.new("LA", (8, 8), (0, 0))
    assert _saved(la).getpixel((1, 1)) == (255, 255, 255)
    p = Image.new("P", (8, 8), 1)
    p.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    p.info["transparency"] = 0
    p.putpixel((2, 2), 0)
    loaded = _saved(p, transparency=0)
    assert loaded.getpixel((2, 2)) == (255, 255, 255)
    assert loaded.getpixel((0, 0)) == (0, 255, 0)


def test_cmyk_becomes_rgb():
    img = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # red ink
    loaded = _saved(img, "JPEG", quality=95)
    r, g, b = loaded.getpixel((4, 4))
    assert loaded.mode == "RGB" and r > 200 and g < 60 and b < 60


def test_16_bit_grey_is_scaled_not_clipped():
    arr = np.full((6, 6), 32768, dtype=np.uint16)  # mid grey in 16 bits
    img = Image.fromarray(arr)
    loaded = _saved(img)
    assert abs(loaded.getpixel((3, 3))[0] - 127) <= 2
    as_int = to_rgb(Image.fromarray(np.full((4, 4), 65535, dtype=np.int32)))
    assert as_int.getpixel((0, 0)) == (255, 255, 255)


def test_animated_image_gives_its_first_frame():
    frames = [Image.new("RGB", (10, 10), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100)
    loaded = image_from_bytes(buf.getvalue(), "anim.gif")
    r, g, b = loaded.getpixel((5, 5))
    assert r > 200 and b < 60


def test_loaded_image_is_independent_of_the_file(tmp_path):
    path = tmp_path / "a.png"
    Image.new("RGB", (5, 5), "green").save(path)
    img = load_image(path)
    path.unlink()
    assert img.getpixel((0, 0)) == (0, 128, 0)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing", "does not exist"),
        ("folder", "is a folder, not an image file"),
        ("empty", "is empty"),
        ("not_image", "is not an image"),
        ("truncated", "damaged or incomplete"),
        ("truncated_jpeg", "damaged or incomplete"),
        ("bomb", "too large to open safely (1600 megapixels)"),
    ],
)
def test_each_bad_file_has_its_own_message_naming_it(bad_image_files, case, expected):
    path = bad_image_files[case]
    with pytest.raises(ImageLoadError) as err:
        load_image(path)
    message = str(err.value)
    assert expected in message
    assert str(path) in message
    assert message.endswith(".")


def test_image_just_over_pillows_limit_is_refused_too():
    # Pillow only warns between 1x and 2x its limit; we refuse it before decoding.
    with pytest.raises(ImageLoadError, match=r"too large to open safely \(100 megapixels\)"):
        image_from_bytes(bomb_png(10000, 10000), "big.png")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file_says_permission_denied(tmp_path):
    path = tmp_path / "secret.png"
    path.write_bytes(png_bytes(Image.new("RGB", (4, 4))))
    path.chmod(0)
    try:
        with pytest.raises(ImageLoadError, match="permission denied"):
            load_image(path)
    finally:
        path.chmod(0o600)


def test_permission_denied_message_even_as_root(tmp_path, monkeypatch):
    # The same path through a read that fails, for CI runners that run as root.
    import describe_aloud.engine.images as images

    path = tmp_path / "secret.png"
    path.write_bytes(b"x")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(images, "read_regular", refuse)
    with pytest.raises(ImageLoadError, match=r"secret.png cannot be opened: permission denied"):
        load_image(path)


def test_a_light_drawing_on_transparency_goes_on_black_and_its_text_is_read():
    """A white logo or icon made for dark backgrounds (only its alpha has the shape) was composited on
    white and called blank, its text never read. Dark drawings keep the white a viewer shows."""
    from PIL import ImageDraw

    from describe_aloud.engine.image_analysis import blank_reason, thumbnail
    from describe_aloud.engine.ocr import OcrEngine
    from tests.fixtures.images import font

    logo = Image.new("RGBA", (480, 140), (255, 255, 255, 0))
    ImageDraw.Draw(logo).text((20, 30), "OPEN DAILY", fill=(255, 255, 255, 255), font=font(64))
    loaded = _saved(logo)
    assert loaded.getpixel((2, 2)) == (0, 0, 0) and blank_reason(thumbnail(loaded)) is None
    assert "OPEN DAILY" in " ".join(line.text for line in OcrEngine().read(loaded))
    # A light screenshot with transparent rounded corners and a soft shadow stays on white, as viewers show it.
    shot = Image.new("RGBA", (800, 500), (0, 0, 0, 0))
    for i in range(12):
        ImageDraw.Draw(shot).rounded_rectangle((i, i, 799 - i, 499 - i), radius=20, fill=(0, 0, 0, 8 + i * 6))
    ImageDraw.Draw(shot).rounded_rectangle((12, 12, 787, 487), radius=16, fill=(245, 245, 245, 255))
    assert _saved(shot).getpixel((0, 0)) == (255, 255, 255)
    dark = Image.new("RGBA", (480, 140), (0, 0, 0, 0))
    ImageDraw.Draw(dark).text((20, 30), "OPEN DAILY", fill=(20, 20, 90, 255), font=font(64))
    assert _saved(dark).getpixel((2, 2)) == (255, 255, 255)


def test_a_108_megapixel_phone_photo_is_read_at_a_reduced_scale_without_a_warning(tmp_path, recwarn):
    """Pillow's limit (~89 MP) is for bombs; a JPEG is decoded at 1/2 ... 1/8 in its decoder, so an
    ordinary 108 MP phone photo is described (it used to be refused), quickly and in little memory."""
    from describe_aloud.engine.batch_inputs import decode_shrunk
    from describe_aloud.engine.images import DECODE_SIDE, ORIGINAL_SIZE

    photo = Image.new("RGB", (12000, 9000), (30, 90, 160))
    photo.paste((240, 200, 20), (0, 0, 6000, 9000))  # left half yellow
    path = tmp_path / "phone.jpg"
    photo.save(path, quality=80)
    del photo
    loaded = load_image(path)
    assert DECODE_SIDE <= max(loaded.size) < 12000 and loaded.size[0] * 3 == loaded.size[1] * 4
    assert loaded.info[ORIGINAL_SIZE] == (12000, 9000)  # what a description says of its size
    assert loaded.getpixel((10, 10))[0] > 200 and loaded.getpixel((loaded.width - 10, 10))[2] > 130
    shrunk, size = decode_shrunk(path, 2048)
    assert size == (12000, 9000) and max(shrunk.size) == 2048  # the results say the photo's real size
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


def test_a_jpeg_over_twice_the_limit_is_read_when_its_reduced_scale_fits(tmp_path, monkeypatch):
    from describe_aloud.engine import images

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2_000_000)  # so a small file stands for a 200 MP one
    monkeypatch.setattr(images, "DECODE_SIDE", 1000)
    path = tmp_path / "big.jpg"
    Image.new("RGB", (3000, 2000), (200, 30, 30)).save(path)  # 6 MP: 3x the limit
    assert max(load_image(path).size) == 1500  # decoded at 1/2
    png = tmp_path / "big.png"
    Image.new("RGB", (3000, 2000), (200, 30, 30)).save(png)  # no reduced decoding for a PNG: refused
    with pytest.raises(ImageLoadError, match="too large to open safely"):
        load_image(png)


def test_12_bit_data_in_a_16_bit_png_is_scaled_from_its_12_bits_and_its_text_read():
    """A 12-bit camera or scanner image stored in 16 bits (values up to 4095) came out nearly black and was
    called blank; it is scaled from the bits it uses (full 16-bit data as before)."""
    from PIL import ImageDraw

    from describe_aloud.engine.image_analysis import blank_reason, thumbnail
    from describe_aloud.engine.ocr import OcrEngine
    from tests.fixtures.images import font

    page = Image.new("L", (520, 140), 235)
    ImageDraw.Draw(page).text((20, 30), "LOT 4711", fill=10, font=font(64))
    twelve_bit = Image.fromarray((np.asarray(page, dtype=np.uint16) * 16).astype(np.uint16))  # 0..3760
    loaded = _saved(twelve_bit)
    assert loaded.getpixel((2, 2))[0] > 200 and blank_reason(thumbnail(loaded)) is None
    assert "LOT 4711" in " ".join(line.text for line in OcrEngine().read(loaded))


def test_float_data_holding_infinity_is_read_not_an_exception():
    arr = np.full((8, 8), 0.5, dtype=np.float32)
    arr[0, 0] = np.inf
    assert to_rgb(Image.fromarray(arr, "F")).mode == "RGB"
    wide = np.full((8, 8), 3000.0, dtype=np.float32)
    wide[1, 1] = np.inf
    assert to_rgb(Image.fromarray(wide, "F")).getpixel((3, 3))[0] > 150  # 12-bit-like data, scaled


def test_an_animation_that_starts_blank_is_read_from_its_first_drawn_frame():
    """A banner GIF that fades in from white was called blank: its first frame is."""
    from PIL import ImageDraw

    from tests.fixtures.images import font

    frames = [Image.new("RGB", (420, 120), "white") for _ in range(3)]
    ImageDraw.Draw(frames[2]).text((20, 20), "SALE 50%", fill="black", font=font(64))
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100)
    loaded = image_from_bytes(buf.getvalue(), "banner.gif")
    assert np.asarray(loaded).min() < 60  # the text is there


def test_a_scan_of_several_pages_says_which_page_was_read(tmp_path):
    """A multi-page TIFF (a scanned letter) was described from page 1 with no word of the others: a silent
    loss. Its description says the page and the count (a blank cover page is passed over)."""
    from PIL import ImageDraw

    from describe_aloud.engine import render
    from describe_aloud.engine.describer import Describer
    from tests.fixtures.images import font

    pages = [Image.new("RGB", (600, 200), "white") for _ in range(3)]
    ImageDraw.Draw(pages[1]).text((20, 40), "Dear Sir", fill="black", font=font(64))
    ImageDraw.Draw(pages[2]).text((20, 40), "Yours", fill="black", font=font(64))
    path = tmp_path / "letter.tif"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    description = Describer(None).describe(load_image(path), source=str(path))
    said = render.describe(description).speech
    assert "Dear Sir" in said and "Page 2 of 3: only this page was described." in said
    single = tmp_path / "one.tif"
    pages[1].save(single)
    assert "Page" not in render.describe(Describer(None).describe(load_image(single))).speech
