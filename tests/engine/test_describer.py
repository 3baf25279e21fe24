"""The façade with real (tiny, random-weight) captioners and real OCR: blank checks, kinds, errors, batches."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from describe_aloud.engine import render
from describe_aloud.engine import Describer, ImageKind, load_captioner
from describe_aloud.engine.image_analysis import blank_reason as _blank_reason, colour_name
from describe_aloud.engine.image_analysis import thumbnail as _thumbnail
from describe_aloud.engine.reading.kind import classify
from describe_aloud.engine.description import TextLine
from describe_aloud.engine.ocr import OcrEngine
from tests.fixtures.images import TEXT_LINES, photo_image, real_photo, text_image

CAPTION_STAGES = {"preprocess", "vision", "decode", "caption"}


@pytest.fixture(scope="module")
def ocr() -> OcrEngine:
    return OcrEngine()


@pytest.fixture(scope="module")
def git(tiny_git_dir):
    return load_captioner(str(tiny_git_dir))


@pytest.fixture(scope="module")
def florence(tiny_florence2_dir):
    return load_captioner(str(tiny_florence2_dir))


# -- blank ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("colour", "reason"),
    [((0, 0, 0), "all black"), ((255, 255, 255), "all white"), ((64, 64, 64), "all dark grey"),
     ((128, 128, 128), "all grey"), ((20, 40, 160), "all blue")],
)
def test_uniform_images_are_blank_without_ocr_or_caption(git, colour, reason):
    d = Describer(git, use_ocr=True).describe(Image.new("RGB", (640, 360), colour))
    assert d.kind is ImageKind.BLANK
    assert d.blank_reason == reason
    assert d.caption is None and d.text_lines == []
    assert not CAPTION_STAGES & d.timings_ms.keys() and "ocr" not in d.timings_ms
    assert render.describe(d).speech == f"The image is blank: {reason}."


def test_sensor_noise_on_a_dark_frame_is_still_blank():
    rng = np.random.default_rng(0)
    noisy = np.clip(rng.normal(40, 6, (480, 640, 3)), 0, 255).astype(np.uint8)
    assert _blank_reason(_thumbnail(Image.fromarray(noisy))) == "all dark grey"


def test_one_small_word_on_a_white_page_is_not_blank():
    page = Image.new("RGB", (1920, 1080), "white")
    ImageDraw.Draw(page).text((900, 500), "OK", fill="black", font_size=16)
    assert _blank_reason(_thumbnail(page)) is None


def test_colour_names():
    assert colour_name((250, 250, 250)) == "white"
    assert colour_name((5, 5, 5)) == "black"
    assert colour_name((200, 30, 30)) == "red"
    assert colour_name((170, 200, 250)) == "light blue"
    assert colour_name((0, 60, 0)) == "dark green"


# -- kinds ---------------------------------------------------------------------------------------------

def test_text_page_is_a_document_text_leads_and_caption_is_hedged(git, ocr):
    d = Describer(git, ocr=ocr).describe(text_image(TEXT_LINES), source="list.png")
    assert d.kind is ImageKind.DOCUMENT
    assert d.text == "\n".join(TEXT_LINES)
    assert d.caption  # still produced...
    speech = render.describe(d).speech
    assert speech.startswith("Document with text. Text: Tuesday shopping list. Bread and butter. Fresh oranges.")
    assert "Could be: " in speech and "The model guesses" not in speech  # ...but only as a hedge
    assert d.source == "list.png" and d.model_id == git.model_id


def test_photo_gets_a_caption_and_every_stage_timed(git, ocr):
    d = Describer(git, ocr=ocr).describe(photo_image())
    assert d.kind is ImageKind.PHOTO
    assert d.text_lines == []
    assert isinstance(d.caption, str) and d.caption.strip()
    assert render.describe(d).speech.startswith("Picture. The model guesses: ")
    assert {"convert", "blank_check", "ocr", "preprocess", "vision", "decode", "caption", "total"} <= d.timings_ms.keys()
    assert all(v >= 0 for v in d.timings_ms.values())
    assert d.timings_ms["total"] >= d.timings_ms["caption"] + d.timings_ms["ocr"] - 1e-6


def test_same_image_same_caption(git):
    describer = Describer(git, use_ocr=False)
    assert describer.describe(photo_image()).caption == describer.describe(photo_image()).caption


def _thumb(colour, size=(128, 72)) -> np.ndarray:
    return np.asarray(Image.new("RGB", size, colour), dtype=np.float32)


def test_classify_screen_document_photo():
    many = [TextLine(f"item {i}", (10, 10 + 30 * i, 300, 30 + 30 * i), 0.9) for i in range(10)]
    one_sign = [TextLine("STOP", (100, 100, 160, 130), 0.9)]
    size = (1280, 720)
    assert classify(size, many, _thumb("white")) is ImageKind.DOCUMENT
    assert classify(size, many, _thumb((30, 30, 40))) is ImageKind.SCREEN  # dark mode UI
    with_picture = Image.new("RGB", (128, 72), "white")
    with_picture.paste((40, 90, 200), (70, 10, 120, 60))  # a coloured picture panel in a light window
    assert classify(size, many, np.asarray(with_picture, dtype=np.float32)) is ImageKind.SCREEN
    # One word on a plain page is text on a plain background, not a photo (issue 13); on a real photo it
    # is a sign in the scene.
    assert classify(size, one_sign, _thumb("white")) is ImageKind.DOCUMENT
    assert classify(size, one_sign, _thumbnail(real_photo(size))) is ImageKind.PHOTO
    assert classify(size, [], _thumb("white")) is ImageKind.PHOTO


# -- captioner capabilities, errors, batches -----------------------------------------------------------

def test_detail_asks_a_capable_model_for_the_detailed_caption(florence, git):
    d = Describer(florence, use_ocr=False).describe(photo_image(), detail=True)
    assert d.detailed_caption and d.caption
    assert render.describe(d).speech.startswith(f"Picture. The model guesses: {d.detailed_caption[0].upper()}")
    plain = Describer(git, use_ocr=False).describe(photo_image(), detail=True)
    assert plain.caption and plain.detailed_caption is None  # not capable: the plain caption


def test_add_detail_hands_the_detail_over_before_looking_for_objects(tiny_florence2_dir, git):
    """"More detail": the detail alone first (no plain caption row: the user heard a caption already),
    handed over to be spoken, then the objects, from the same image features (one vision pass)."""
    from describe_aloud.engine.captioners.hf_loading import find_module as _find_module

    florence = load_captioner(str(tiny_florence2_dir), precision="fp32")
    vision = _find_module(florence.model, florence.adapter.vision_paths)
    vision_passes: list[int] = []
    rows: list[tuple[int, ...]] = []
    events: list[str] = []
    handle = vision.register_forward_hook(lambda module, args, output: vision_passes.append(args[0].shape[0]))
    generate = florence.model.generate

    def recording_generate(*args, **kwargs):
        events.append("generate")
        out = generate(*args, **kwargs)
        rows.append(tuple(out.shape))
        return out

    florence.model.generate = recording_generate
    handed: list = []
    try:
        d = Describer(florence, use_ocr=False).add_detail(
            photo_image(), source="photo", on_detail=lambda p: (events.append("detail"), handed.append(p)))
    finally:
        handle.remove()
        florence.model.generate = generate
    assert events == ["generate", "detail", "generate"]  # detail spoken before the objects are looked for
    assert vision_passes == [1]
    assert [r[0] for r in rows] == [1, 1]  # one row each: no plain caption row beside them
    assert d.caption is None and d.detailed_caption is not None
    assert handed[0].detailed_caption == d.detailed_caption and handed[0].objects == []
    assert d.caption_error is None and "objects" in d.timings_ms
    # A model without a detailed caption: its caption is the detail, nothing is handed over early.
    plain = Describer(git, use_ocr=False).add_detail(photo_image(), on_detail=handed.append)
    assert plain.detailed_caption and plain.caption is None and len(handed) == 1


@pytest.fixture
def florence_writing_sentences(tiny_florence2_dir):
    """The tiny Florence-2 with generation settings (its own generation_config, as a model ships them) that
    make its detail sentences: a full stop is likely, and a capital follows one."""
    captioner = load_captioner(str(tiny_florence2_dir), precision="fp32")
    token = captioner.processor.tokenizer.convert_tokens_to_ids
    stop, space, capital = token("."), token("Ġ"), token("T")
    captioner.model.generation_config.sequence_bias = [[[stop], 3.0], [[stop, space], 50.0],
                                                       [[stop, space, capital], 50.0]]
    return captioner


def test_more_detail_is_handed_on_a_sentence_at_a_time_while_it_is_written(florence_writing_sentences):
    handed: list = []
    d = Describer(florence_writing_sentences, use_ocr=False).add_detail(photo_image(), on_detail=handed.append)
    quiet = Describer(florence_writing_sentences, use_ocr=False).add_detail(photo_image())
    assert d.detailed_caption == quiet.detailed_caption  # streaming changes no word
    texts = [p.detailed_caption for p in handed]
    assert len(texts) >= 2 and texts[0].endswith(".") and texts[0] != d.detailed_caption  # before the end
    assert texts[-1] == d.detailed_caption and all(d.detailed_caption.startswith(t) for t in texts)
    assert all(p.objects == [] for p in handed) and d.caption_error is None


def test_a_model_failing_while_writing_keeps_what_was_said_and_says_why(florence_writing_sentences, monkeypatch):
    decoder = florence_writing_sentences.model.model.language_model.decoder
    handed: list = []
    forward = decoder.forward

    def failing_after_a_sentence(*args, **kwargs):
        if handed:
            raise RuntimeError("out of memory")
        return forward(*args, **kwargs)

    monkeypatch.setattr(decoder, "forward", failing_after_a_sentence)
    d = Describer(florence_writing_sentences, use_ocr=False).add_detail(photo_image(), on_detail=handed.append)
    assert len(handed) == 1 and d.detailed_caption == handed[0].detailed_caption  # not lost from the history
    assert "out of memory" in d.caption_error
    speech = render.more_detail(d).speech
    assert speech.startswith(f"More detail, guessed by the model: {d.detailed_caption}")
    assert speech.endswith(d.caption_error) and "nothing to add" not in speech


def test_without_a_captioner_the_text_is_still_read(ocr):
    d = Describer(None, ocr=ocr).describe(text_image(TEXT_LINES))
    assert d.text == "\n".join(TEXT_LINES)
    assert d.caption is None and d.caption_error
    assert "only the text was read" in render.describe(d).speech
    given = Describer(None, use_ocr=False, caption_error="The model is not downloaded.").describe(photo_image())
    assert render.describe(given).speech == "Picture. The model is not downloaded."


def test_a_failing_model_is_reported_not_raised(git, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(git, "caption", broken)
    d = Describer(git, use_ocr=False).describe(photo_image())
    assert d.caption is None
    assert "could not be described" in d.caption_error and "out of memory" in d.caption_error
    assert "could not be described" in render.describe(d).speech


def test_batch_makes_one_model_call_for_all_non_blank_images(git, monkeypatch):
    calls = []
    real = git.caption

    def counting(images, **kwargs):
        calls.append(len(images))
        return real(images, **kwargs)

    monkeypatch.setattr(git, "caption", counting)
    images = [photo_image(), Image.new("RGB", (50, 50), "black"), photo_image((200, 300))]
    ds = Describer(git, use_ocr=False).describe_batch(images, sources=["a", "b", "c"])
    assert calls == [2]
    assert [d.source for d in ds] == ["a", "b", "c"]
    assert [d.kind for d in ds] == [ImageKind.PHOTO, ImageKind.BLANK, ImageKind.PHOTO]
    assert ds[0].caption and ds[2].caption and ds[1].caption is None
    assert ds[2].width == 200 and ds[2].height == 300
    # The batch matches describing each image alone.
    assert ds[0].caption == Describer(git, use_ocr=False).describe(images[0]).caption


def test_non_rgb_input_is_converted(git):
    rgba = photo_image().convert("RGBA")
    d = Describer(git, use_ocr=False).describe(rgba)
    assert d.kind is ImageKind.PHOTO and d.caption


def test_an_ocr_failure_is_reported_and_the_caption_still_comes(git, monkeypatch):
    ocr = OcrEngine()

    def broken(image):
        raise RuntimeError("onnxruntime could not allocate")

    monkeypatch.setattr(ocr, "read", broken)
    d = Describer(git, ocr=ocr).describe(photo_image())
    assert d.caption and d.text_lines == []
    assert "could not be read" in d.ocr_error and "could not allocate" in d.ocr_error
    assert render.describe(d).speech.startswith("Picture. The model guesses: ")
    assert render.describe(d).speech.endswith("(RuntimeError: onnxruntime could not allocate).")


def test_text_is_handed_over_before_the_caption(git, ocr, monkeypatch):
    events: list[str] = []
    real = git.caption

    def caption(images, **kwargs):
        results = real(images, **kwargs)
        events.append("caption done")
        return results

    monkeypatch.setattr(git, "caption", caption)
    partials = []

    def on_text(partial):
        events.append("text ready")
        partials.append(partial)

    with Describer(git, ocr=ocr) as describer:
        final = describer.describe(text_image(TEXT_LINES), on_text=on_text)
        assert events == ["text ready", "caption done"]  # speech can start before the model has run
        photo = describer.describe(photo_image(), on_text=on_text)
    partial = partials[0]
    assert partial.caption is None and partial.text == final.text
    assert render.describe(partial).speech == "Document with text. Text: Tuesday shopping list. Bread and butter. Fresh oranges."
    assert render.describe(final).after(render.describe(partial)).speech == f"Could be: {final.caption[0].upper()}{final.caption[1:]}."
    assert photo.caption == Describer(git, use_ocr=False).describe(photo_image()).caption
    assert len(partials) == 1  # not called for the photo: its caption is said first


def test_decoding_loops_are_said_once():
    from describe_aloud.engine.describer import tidy_caption

    assert tidy_caption("Table table table table table table") == "Table"
    assert tidy_caption("a cat on a mat a cat on a mat a cat on a mat by a door") == "a cat on a mat by a door"
    # Ordinary repetition is left alone.
    assert tidy_caption("a very very tall tree  ") == "a very very tall tree"
    assert tidy_caption("two dogs and two cats") == "two dogs and two cats"


def test_a_screen_capture_is_a_screen_text_first_caption_hedged(git, ocr):
    """A capture says kind_hint="screen": a screen with a few words (a photo viewer's title, a dialog) is
    read first and the caption only hedged, never "Picture. The model guesses"; blank still wins."""
    screen = real_photo((640, 480))  # a picture on the screen...
    ImageDraw.Draw(screen).text((10, 10), "Save changes", fill="black", font_size=20)  # ...with little text
    unhinted = Describer(git, ocr=ocr).describe(screen)
    assert unhinted.kind is ImageKind.PHOTO  # what a dropped photo with a caption on it would be

    d = Describer(git, ocr=ocr).describe(screen, kind_hint="screen", source="screen")
    assert d.kind is ImageKind.SCREEN
    speech = render.describe(d).speech
    assert speech.startswith("Screen with text. Text: Save changes.")
    assert "Could be: " in speech and "The model guesses" not in speech and "Picture" not in speech

    # A document-looking page on the screen (a PDF viewer) is still the screen.
    page = Describer(git, ocr=ocr).describe(text_image(TEXT_LINES), kind_hint=ImageKind.SCREEN)
    assert page.kind is ImageKind.SCREEN and render.describe(page).speech.startswith("Screen with text. Text: Tuesday")

    # A screen with no text at all (a video playing) is a screen too, with no false "with text".
    no_text = Describer(git, use_ocr=False).describe(photo_image(), kind_hint="screen")
    assert no_text.kind is ImageKind.SCREEN and render.describe(no_text).speech.startswith("Screen. Could be: ")

    black = Describer(git, ocr=ocr).describe(Image.new("RGB", (640, 360)), kind_hint="screen")
    assert black.kind is ImageKind.BLANK and render.describe(black).speech == "The image is blank: all black."

    batch = Describer(git, ocr=ocr).describe_batch([screen, Image.new("RGB", (64, 64))], kind_hint="screen")
    assert [b.kind for b in batch] == [ImageKind.SCREEN, ImageKind.BLANK]
    with pytest.raises(ValueError):
        Describer(git, ocr=ocr).describe(screen, kind_hint="blank")  # a hint cannot hide an image


def test_warm_up_runs_the_captioner_once_on_the_thread_that_will_caption(git, ocr, monkeypatch):
    import threading

    threads: list[str] = []
    real = git.warm_up
    monkeypatch.setattr(git, "warm_up", lambda: (threads.append(threading.current_thread().name), real()))
    with Describer(git, ocr=ocr) as describer:
        describer.warm_up()
    assert threads == [threading.current_thread().name]  # the owner thread, where captions will run
