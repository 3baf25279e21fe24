"""`describe-aloud ask IMAGE "QUESTION"` end to end (in-process): real OCR, a tiny real SmolVLM installed in the
model store under the catalog name, as `models download smolvlm-256m` leaves it."""
from __future__ import annotations

import json

from describe_aloud.cli import main
from describe_aloud.engine.invocation import user_command
from tests.fixtures.images import TEXT_LINES


def _ask(capsys, *argv: str) -> tuple[int, str, str]:
    code = main.main(["ask", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_answer_with_the_read_text_in_the_prompt_and_an_honest_verdict(capsys, image_files,
                                                                            installed_ask_model):
    code, out, err = _ask(capsys, image_files["text"], "What does the text say?", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["path"] == str(image_files["text"]) and record["question"] == "What does the text say?"
    assert record["text_lines"] == TEXT_LINES  # read by OCR and given to the model
    # A random-weight model is never sure: the user hears that, not its babble.
    assert record["unsure"] is True and record["speech"] == "I can't tell from this image."
    assert record["guess"] and record["first_token_prob"] < 0.15
    assert {"image", "question", "first_token", "total"} <= record["timings_ms"].keys()


def test_plain_output_says_i_cannot_tell(capsys, image_files, installed_ask_model):
    code, out, err = _ask(capsys, image_files["photo"], "What colour is the car?", "--no-ocr")
    assert code == 0, err
    assert out.strip() == "I can't tell from this image."


def test_a_missing_model_exits_2_and_names_the_download_command(capsys, image_files):
    code, out, err = _ask(capsys, image_files["photo"], "What is this?")
    assert code == 2
    assert user_command("models", "download", "smolvlm-256m") in err


def test_a_bad_image_is_one_clear_sentence(capsys, bad_image_files, installed_ask_model):
    code, out, err = _ask(capsys, bad_image_files["not_image"], "What is this?", "--json")
    assert code == 1
    assert "is not an image" in err and json.loads(out)["error"]


def test_ask_last_without_a_running_app_says_what_to_do_instead(capsys):
    code, out, err = _ask(capsys, "--last", "What does the red button say?", "--timeout", "0.3")
    assert code == 1
    assert "not running" in err and user_command("ask", "IMAGE", "What does the red button say?") in err


def test_the_words_must_match_the_form(capsys):
    assert _ask(capsys, "only-a-question-without-image")[0] == 1
    assert _ask(capsys, "--last", "image.png", "question")[0] == 1


def test_a_captioner_from_the_catalog_is_refused_without_suggesting_its_download(capsys, image_files):
    code, out, err = _ask(capsys, image_files["photo"], "What is this?", "--model", "blip-base")
    assert code == 1
    assert "blip-base describes images but cannot answer questions" in err
    assert "smolvlm-256m, smolvlm-500m" in err and "download" not in err


def test_an_empty_question_is_asked_for_not_answered(capsys, image_files):
    code, out, err = _ask(capsys, image_files["photo"], "  ")
    assert code == 1 and out == ""
    assert "The question is empty" in err
    code, out, err = _ask(capsys, "--last", "")
    assert code == 1 and "The question is empty" in err
