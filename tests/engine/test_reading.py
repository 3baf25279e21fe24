"""engine.reading: reading order (columns, tables, blocks), text worth saying on photos, scripts and
languages, and the speaker's voice per language. Pure functions on boxes and strings; the real images are
in test_reading_corpus.py."""
from __future__ import annotations

from describe_aloud.engine import render
from describe_aloud.engine.description import Description, ImageKind, TextLine
from describe_aloud.engine.reading.order import Piece, reading_order
from describe_aloud.engine.reading.phantom import keep_readable, plausible_characters
from describe_aloud.engine.reading.script import Run, language_of, language_runs
from describe_aloud.engine.speech.language_runs import VoiceChooser, VoiceInfo, sentence_runs


def _p(text, x0, y0, x1, y1, confidence=0.99) -> Piece:
    return Piece(text, x0, y0, x1, y1, confidence)


def _texts(lines) -> list[str]:
    return [line.text for line in lines]


def _grid(rows, xs, top=100, pitch=40, height=24, char=12):
    """Pieces laid out like rows of cells starting at the given x positions."""
    return [_p(cell, x, top + r * pitch, x + char * len(cell), top + r * pitch + height)
            for r, row in enumerate(rows) for x, cell in zip(xs, row)]


# -- order: table or columns -----------------------------------------------------------------------

def test_a_table_is_read_row_by_row_with_its_cells_separated():
    rows = [("Item", "Quantity", "Price"), ("Bread", "2", "3.40"), ("Milk", "1", "1.15")]
    lines = reading_order(_grid(rows, (20, 200, 360)))
    assert _texts(lines) == ["Item\tQuantity\tPrice", "Bread\t2\t3.40", "Milk\t1\t1.15"]
    assert [line.cells for line in lines][1] == ["Bread", "2", "3.40"]
    assert len({line.block for line in lines}) == 1  # one table, one block


def test_a_form_of_labels_and_longer_values_is_read_label_then_value():
    rows = [("Name", "Alice Martin from Lyon"), ("Email", "alice@example.org"), ("City", "Lyon, France")]
    assert _texts(reading_order(_grid(rows, (20, 140)))) == [
        "Name\tAlice Martin from Lyon", "Email\talice@example.org", "City\tLyon, France"]


def test_two_lists_of_similar_phrases_side_by_side_are_two_columns_not_a_table():
    rows = [("Morning coffee", "Evening train"), ("Quiet garden", "Silver river"), ("Yellow bicycle", "Wooden bridge")]
    assert _texts(reading_order(_grid(rows, (20, 360)))) == [
        "Morning coffee", "Quiet garden", "Yellow bicycle", "Evening train", "Silver river", "Wooden bridge"]


def test_two_columns_of_prose_whose_lines_line_up_are_read_column_after_column():
    left = ["It was the best of times, it was the", "worst of times, it was the age of", "wisdom and the age of foolishness."]
    right = ["In a hole in the ground there lived", "a hobbit. Not a nasty, dirty, wet", "hole, filled with ends of worms."]
    pieces = _grid(list(zip(left, right)), (20, 520), char=11)
    lines = reading_order(pieces)
    assert _texts(lines) == left + right
    assert lines[0].block != lines[3].block  # each column is its own block
    assert [line.index for line in lines] == list(range(6))


def test_a_sidebar_beside_a_page_is_read_before_the_page():
    sidebar = [_p(name, 10, 100 + 30 * i, 70, 120 + 30 * i) for i, name in enumerate(["Inbox", "Sent", "Drafts", "Spam"])]
    page = [_p(text, 200, 105 + 45 * i, 700, 125 + 45 * i) for i, text in
            enumerate(["Dear all, the meeting moves to Thursday at ten", "in the small room on the second floor."])]
    assert _texts(reading_order(page + sidebar)) == ["Inbox", "Sent", "Drafts", "Spam",
                                                     "Dear all, the meeting moves to Thursday at ten",
                                                     "in the small room on the second floor."]


def test_every_line_knows_its_language():
    lines = reading_order([_p("设置", 10, 10, 60, 30), _p("Open file", 10, 50, 120, 70), _p("12:30", 10, 90, 60, 110)])
    assert [(line.text, line.language) for line in lines] == [("设置", "zh"), ("Open file", "en"), ("12:30", None)]


# -- phantom text ----------------------------------------------------------------------------------

def _line(text, box=(100, 100, 220, 140), confidence=0.95):
    return TextLine(text, box, confidence)


def test_texture_read_as_letters_is_not_said_on_a_photo():
    size = (640, 480)
    noise = [_line("0000"), _line("O", (300, 150, 380, 220)), _line("8", (0, 0, 600, 400)), _line("lll"),
             _line("RRLT"), _line("~.-", (10, 10, 60, 30)), _line("tiny", (10, 10, 30, 14)),
             _line("Unsure", confidence=0.6)]
    assert keep_readable(noise, ImageKind.PHOTO, size) == []
    assert _texts(keep_readable([_line("STOP"), _line("Bus 42", (300, 300, 400, 330))], ImageKind.PHOTO, size)) == [
        "STOP", "Bus 42"]


def test_misreadings_of_one_sign_are_said_once_the_most_confident_winning():
    lines = [_line("YAWAHA", (670, 370, 760, 430), 0.901), _line("YAMAHA", (600, 650, 645, 680), 0.902),
             _line("YAMARA", (356, 328, 383, 343), 0.91)]
    assert _texts(keep_readable(lines, ImageKind.PHOTO, (1440, 996))) == ["YAMAHA"]


def test_on_screens_and_documents_everything_readable_is_kept():
    lines = [_line("8", (10, 10, 20, 30), 0.9), _line("0000", (10, 40, 60, 60), 0.7), _line("OK", (10, 70, 40, 90))]
    for kind in (ImageKind.SCREEN, ImageKind.DOCUMENT):
        assert _texts(keep_readable(lines, kind, (1280, 720))) == ["8", "0000", "OK"]


def test_two_readings_of_the_same_place_are_merged_on_every_kind():
    lines = [_line("Settings", (10, 10, 110, 30), 0.97), _line("Setings", (12, 11, 108, 30), 0.9),
             _line("Settings", (10, 300, 110, 320), 0.97)]  # the same word elsewhere is kept
    kept = keep_readable(lines, ImageKind.SCREEN, (1280, 720))
    assert _texts(kept) == ["Settings", "Settings"] and [line.index for line in kept] == [0, 1]


def test_character_sanity():
    assert plausible_characters("YAMAHA") and plausible_characters("Bus 42") and plausible_characters("出口")
    assert not any(plausible_characters(t) for t in ("0000", "O", "8", "lll", "XWNM", "-.-"))


# -- scripts and voices ----------------------------------------------------------------------------

def test_languages_from_scripts():
    assert language_of("打开文件") == "zh" and language_of("Open") == "en" and language_of("Открыть") == "ru"
    assert language_of("ひらがな漢字") == "ja" and language_of("설정") == "ko" and language_of("42%") is None
    assert language_of("常规设置 General settings") == "zh"  # a Chinese label with its English gloss
    assert language_runs("设置 Settings 帮助") == [Run("设置 ", "zh"), Run("Settings ", "en"), Run("帮助", "zh")]
    assert language_runs("版本 2.0") == [Run("版本 2.0", "zh")]  # digits stay with their words


ESPEAK = [VoiceInfo("gmw/en", ("en-gb",)), VoiceInfo("gmw/en-us", ("en-us",)), VoiceInfo("roa/fr", ("fr-fr",)),
          VoiceInfo("sit/cmn-latn-pinyin", ("cmn-latn-pinyin",)), VoiceInfo("sit/yue", ("yue",)),
          VoiceInfo("sit/cmn", ("cmn",))]


def test_each_run_goes_to_a_voice_for_its_language():
    chooser = VoiceChooser(ESPEAK, "gmw/en-us")
    assert chooser.voice_for("zh") == "sit/cmn"  # Mandarin before Cantonese and before the pinyin variant
    assert chooser.voice_for("en") == "gmw/en-us" and chooser.voice_for(None) == "gmw/en-us"
    assert chooser.voice_for("ko") == "gmw/en-us"  # no Korean voice installed: the user's voice
    # A French user's voice reads Latin text (the script cannot tell French from English).
    assert VoiceChooser(ESPEAK, "roa/fr").voice_for("en") == "roa/fr"
    # A Chinese user's voice reads Chinese; English goes to an English voice.
    chinese_user = VoiceChooser(ESPEAK, "sit/yue")
    assert chinese_user.voice_for("zh") == "sit/yue" and chinese_user.voice_for("en") == "gmw/en"
    # No voice chosen: the default voice is taken to speak the app's language.
    assert VoiceChooser(ESPEAK, None, "en").voice_for("zh") == "sit/cmn"
    assert VoiceChooser(ESPEAK, None, "en").voice_for("en") is None


def test_sentences_are_cut_where_the_language_changes():
    assert sentence_runs(["Text: 是否保存更改？", "Save changes?"]) == [
        Run("Text:", "en"), Run("是否保存更改？", "zh"), Run("Save changes?", "en")]


def test_the_renderer_gives_read_lines_their_languages_and_says_scene_text_as_such():
    screen = Description(ImageKind.SCREEN, text_lines=[TextLine("常规设置", (0, 0, 9, 9), 1.0, language="zh"),
                                                       TextLine("Enable spell checking", (0, 20, 9, 29), 1.0)])
    runs = render.describe(screen).runs
    assert runs[0] == Run("Screen with text. Text:", None)  # the app's own words, in its language
    assert [(r.text.strip(" ."), r.language) for r in runs[1:]] == [("常规设置", "zh"), ("Enable spell checking", "en")]
    photo = Description(ImageKind.PHOTO, caption="a red motorcycle in a garage",
                        text_lines=[TextLine("YAMAHA", (0, 0, 9, 9), 0.95)])
    assert render.describe(photo).speech.endswith("Sign reads: YAMAHA.")
    table = Description(ImageKind.DOCUMENT, text_lines=[TextLine("Bread\t2\t3.40", (0, 0, 9, 9), 1.0)])
    assert "Text: Bread, 2, 3.40." in render.describe(table).speech  # cells heard apart


def test_json_lines_carry_block_index_language_and_old_rows_still_load():
    line = TextLine("设置", (1.0, 2.0, 3.0, 4.0), 0.9, block=2, index=5, language="zh")
    d = Description(ImageKind.SCREEN, text_lines=[line])
    data = d.to_dict()
    assert data["text_lines"] == [{"text": "设置", "box": [1.0, 2.0, 3.0, 4.0], "confidence": 0.9,
                                   "block": 2, "index": 5, "language": "zh"}]
    assert Description.from_dict(data).text_lines == [line]
    old = {"kind": "screen", "text_lines": [{"text": "File", "box": [0, 0, 5, 5], "confidence": 0.9},
                                            {"text": "打开", "box": [0, 9, 5, 14], "confidence": 0.9}]}
    loaded = Description.from_dict(old).text_lines
    assert [(l.index, l.block, l.language) for l in loaded] == [(0, 0, "en"), (1, 0, "zh")]


def test_a_label_whose_one_line_fills_the_image_is_text_not_a_photo():
    from describe_aloud.engine.image_analysis import thumbnail
    from describe_aloud.engine.reading.kind import classify
    from tests.fixtures.images import real_photo, text_image

    label = text_image(["Fresh oranges"], size=(300, 80), origin=(16, 20))
    assert classify(label.size, [TextLine("Fresh oranges", (14, 14, 220, 56), 0.99)], thumbnail(label)) is ImageKind.DOCUMENT
    coffee = real_photo((600, 400))  # an "8" read over the whole cup: texture, not a line of text
    assert classify(coffee.size, [TextLine("8", (0, 0, 599, 399), 0.9)], thumbnail(coffee)) is ImageKind.PHOTO
