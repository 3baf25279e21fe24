"""The spoken rendering follows the trust rules: read text is labelled, model output is called a guess."""
from __future__ import annotations

from describe_aloud.engine import render
from describe_aloud.engine.description import Description, DetectedObject, ImageKind, TextLine


def _line(text: str) -> TextLine:
    return TextLine(text, (0.0, 0.0, 10.0, 10.0), 0.9)


def test_blank_image_is_said_to_be_blank_and_nothing_else():
    d = Description(kind=ImageKind.BLANK, blank_reason="all dark grey", caption="a cat")
    assert render.describe(d).speech == "The image is blank: all dark grey."


def test_mostly_text_leads_with_the_text_and_hedges_the_caption():
    d = Description(kind=ImageKind.SCREEN, caption="a computer screen", text_lines=[_line("File"), _line("Edit")])
    assert render.describe(d).speech == "Screen with text. Text: File. Edit. Could be: A computer screen."
    doc = Description(kind=ImageKind.DOCUMENT, caption="a letter", text_lines=[_line("Dear Sam")])
    assert render.describe(doc).speech.startswith("Document with text. Text: Dear Sam.")


def test_mostly_text_keeps_the_caption_short_even_with_a_detailed_one():
    d = Description(kind=ImageKind.SCREEN, caption="a web page", detailed_caption="A web page with people surfing.",
                    text_lines=[_line("News")])
    assert render.describe(d).speech == "Screen with text. Text: News. Could be: A web page."


def test_read_lines_pause_between_labels_but_not_inside_a_sentence():
    lines = [_line("File"), _line("The quick brown fox"), _line("jumps over the dog."), _line("Next page")]
    d = Description(kind=ImageKind.DOCUMENT, text_lines=lines)
    assert "Text: File. The quick brown fox jumps over the dog. Next page." in render.describe(d).speech


def test_photo_caption_is_called_a_guess_and_its_text_is_said_as_scene_text():
    d = Description(
        kind=ImageKind.PHOTO,
        caption="a dog on a sofa",
        objects=[DetectedObject("dog", (0, 0, 5, 5)), DetectedObject("sofa", (0, 0, 9, 9)),
                 DetectedObject("dog", (5, 5, 9, 9))],
        text_lines=[_line("EXIT")],
    )
    assert render.describe(d).speech == (
        "Picture. The model guesses: A dog on a sofa. Objects it may contain: dog, sofa. Sign reads: EXIT."
    )
    assert render.describe(d).roles() == ["kind", "guess", "objects", "text"]


def test_detailed_caption_replaces_the_short_one_when_present():
    d = Description(kind=ImageKind.PHOTO, caption="a dog", detailed_caption="A brown dog sleeps on a red sofa.")
    assert "The model guesses: A brown dog sleeps on a red sofa." in render.describe(d).speech
    assert "a dog." not in render.describe(d).speech


def test_caption_error_is_said_and_text_kept():
    d = Description(kind=ImageKind.PHOTO, text_lines=[_line("Open")],
                    caption_error="The model is not downloaded, so only the text was read")
    assert render.describe(d).speech == "Picture. Sign reads: Open. The model is not downloaded, so only the text was read."


def test_nothing_recognised_is_said_rather_than_silence():
    assert render.describe(Description(kind=ImageKind.PHOTO)).speech == "Picture. Nothing could be recognised."


def test_dict_round_trip_keeps_everything_the_user_sees():
    d = Description(kind=ImageKind.SCREEN, caption="x", text_lines=[TextLine("Hi", (1.0, 2.0, 3.0, 4.0), 0.97)],
                    objects=[DetectedObject("cup", (1.0, 1.0, 2.0, 2.0))], model_id="m",
                    timings_ms={"ocr": 12.345}, source="a.png", width=5, height=6)
    data = render.record(d)
    assert data["kind"] == "screen" and data["text"] == "Hi" and data["speech"] == render.describe(d).speech
    back = Description.from_dict(data)
    assert render.describe(back).speech == render.describe(d).speech
    assert back.text_lines[0].box == (1.0, 2.0, 3.0, 4.0) and back.source == "a.png"


def test_a_screen_without_text_is_not_said_to_have_text():
    d = Description(kind=ImageKind.SCREEN, caption="a video of a beach")
    assert render.describe(d).speech == "Screen. Could be: A video of a beach."
