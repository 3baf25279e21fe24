"""Asking about an image (engine.ask): the confidence rule, grounding, the prompt, and the Asker on a tiny
random-weight SmolVLM (the real Idefics3 class) loaded through the model store like a downloaded model."""
from __future__ import annotations

import threading

import pytest
from PIL import Image, ImageDraw

from describe_aloud.engine import render
from describe_aloud.engine.ask import Answer, AnswerSentence, Turn, judge, load_asker
from describe_aloud.engine.ask.confidence import FIRST_TOKEN_MIN, MEAN_MIN, token_probabilities
from describe_aloud.engine.ask.grounding import READ, SEEN, grounding
from describe_aloud.engine.ask.prompt import READ_TEXT_HEADER, build
from describe_aloud.engine.errors import ModelLoadError, ModelNotAvailable

QUESTION = "What colour is the car?"


def red_car() -> Image.Image:
    image = Image.new("RGB", (160, 100), (230, 230, 230))
    ImageDraw.Draw(image).rectangle((20, 40, 120, 80), fill=(200, 20, 20))
    return image


def blue_sky() -> Image.Image:
    return Image.new("RGB", (100, 160), (40, 90, 220))


# -------------------------------------------------------------------------------- the confidence rule
def probs_from_logits(rows: list[list[float]], chosen: list[int]) -> list[float]:
    import torch

    return token_probabilities(torch.tensor(rows, dtype=torch.bfloat16), chosen)


def test_a_peaked_first_token_and_sure_continuation_is_said():
    # Token 0 far ahead of three others: p ~ 0.95; the continuation is as sure.
    probs = probs_from_logits([[6.0, 0.0, 0.0, 0.0], [5.0, 0.0, 0.0, 0.0]], [0, 0])
    assert probs[0] > 0.9
    assert judge(probs, first=True).sure


def test_a_flat_first_token_means_i_cannot_tell_even_when_the_rest_is_sure():
    # Eight equally likely answers: the chosen one has p = 0.125 < 0.15, then sure tokens (mean well above
    # 0.35): the decision itself was a guess.
    flat = [[0.0] * 8]
    sure = [[9.0] + [0.0] * 7] * 5
    probs = probs_from_logits(flat + sure, [0] * 6)
    assert probs[0] == pytest.approx(0.125, abs=0.01)
    verdict = judge(probs, first=True)
    assert not verdict.sure and verdict.mean_prob > MEAN_MIN
    assert judge(probs[1:], first=True).sure  # the same tokens without the flat start pass


def test_a_low_mean_stops_a_sentence_and_only_the_first_sentence_checks_the_first_token():
    shaky = [0.9, 0.2, 0.2, 0.2, 0.2]  # mean 0.34: just under the line
    assert not judge(shaky, first=True).sure
    assert not judge(shaky, first=False).sure
    later = [0.1, 0.9, 0.9]  # a later sentence may start with an unlikely word
    assert judge(later, first=False).sure and not judge(later, first=True).sure
    assert FIRST_TOKEN_MIN == 0.15 and MEAN_MIN == 0.35
    assert not judge([], first=True).sure


# ------------------------------------------------------------------------------------------ grounding
def test_answers_that_repeat_read_text_are_read_the_rest_is_seen():
    lines = ["Save changes?", "Cancel", "Total: $12.50"]
    assert grounding("Save changes?", lines) == READ
    assert grounding("The button says Save changes.", lines) == READ
    assert grounding("The total is $12.50.", lines) == READ  # its words are the read words
    assert grounding("The cancel button is grey.", lines) == SEEN  # one read word is not enough
    assert grounding("The car is red.", lines) == SEEN
    assert grounding("Save changes?", []) == SEEN


def test_render_says_read_text_as_read_hedges_the_rest_and_cannot_tell_when_unsure():
    read = AnswerSentence("the button says Save changes", READ, 0.9)
    seen = AnswerSentence("The car is red", SEEN, 0.8)
    more = AnswerSentence("It is parked", SEEN, 0.8)
    rendering = render.answer(Answer(QUESTION, [read, seen, more]))
    assert rendering.speech == ("In the read text: The button says Save changes. It looks like the car is red. "
                                "It is parked.")
    assert rendering.roles() == ["read", "guess", "guess"]
    unsure = render.answer(Answer(QUESTION, [], unsure=True, guess="purple"))
    assert unsure.speech == "I can't tell from this image." and "purple" not in unsure.display
    text = render.conversation([(QUESTION, Answer(QUESTION, [seen]))])
    assert text == "You asked: What colour is the car?\nIt looks like the car is red."


# --------------------------------------------------------------------------------------------- prompt
def test_the_read_text_is_in_the_prompt_and_the_prefix_is_the_same_for_every_question(tiny_smolvlm_dir):
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_smolvlm_dir)
    lines = ["STOP", "Main Street"]
    first = build(processor, QUESTION, lines, [])
    follow = build(processor, "And the sign?", lines, [Turn(QUESTION, "Red.")])
    assert READ_TEXT_HEADER + "STOP\nMain Street\n\n" in first.text
    assert first.prefix == follow.prefix and first.prefix.endswith("Main Street\n\n")
    assert follow.suffix.startswith(QUESTION) and "Assistant: Red.<end_of_utterance>" in follow.suffix
    assert follow.text.endswith("And the sign?<end_of_utterance>\nAssistant:")


# ---------------------------------------------------------------------------------- the Asker itself
def test_the_catalog_name_loads_from_the_model_store_and_a_random_model_cannot_tell(installed_ask_model):
    asker = load_asker(installed_ask_model, precision="fp32", max_new_tokens=12)
    stream = asker.ask(red_car(), QUESTION, lines=["STOP"])
    assert list(stream) == []
    answer = stream.answer
    # Random weights over a ~600-token vocabulary: every token is a guess.
    assert answer.unsure and answer.first_token_prob < FIRST_TOKEN_MIN
    assert answer.guess  # it did say something; it is not passed off as an answer
    assert render.answer(answer).speech == "I can't tell from this image."


def test_sentences_stream_before_the_answer_is_finished(tiny_smolvlm_dir):
    asker = load_asker(str(tiny_smolvlm_dir), precision="fp32", first_token_min=0.0, mean_min=0.0,
                       max_new_tokens=40)
    stream = asker.ask(red_car(), QUESTION, lines=[])
    sentences = iter(stream)
    first = next(sentences)
    assert isinstance(first, AnswerSentence) and first.text
    assert "total" not in stream.answer.timings_ms  # the first sentence came while it was still generating
    rest = list(sentences)
    answer = stream.answer
    assert [s.text for s in answer.sentences] == [first.text] + [s.text for s in rest]
    assert answer.timings_ms["first_token"] <= answer.timings_ms["total"]
    assert render.answer(answer).speech.startswith("It looks like ")


def test_a_follow_up_reuses_the_image_encoding_and_answers_as_if_encoded_afresh(tiny_smolvlm_dir):
    options = dict(precision="fp32", first_token_min=0.0, mean_min=0.0, max_new_tokens=10)
    asker = load_asker(str(tiny_smolvlm_dir), **options)
    first = asker.ask(red_car(), QUESTION, lines=["STOP"]).run()
    history = [Turn(QUESTION, first.text)]
    follow = asker.ask(red_car(), "And the sign?", lines=["STOP"], history=history).run()
    assert (first.reused_image, follow.reused_image) == (False, True)
    assert asker.image_encodings == 1 and "image" not in follow.timings_ms
    # The cached prefix gives exactly what a fresh model that encodes everything gives.
    fresh = load_asker(str(tiny_smolvlm_dir), **options)
    again = fresh.ask(red_car(), "And the sign?", lines=["STOP"], history=history).run()
    assert not again.reused_image and again.guess == follow.guess
    # Another image (or other read text) is encoded anew.
    asker.ask(blue_sky(), QUESTION, lines=["STOP"]).run()
    asker.ask(blue_sky(), QUESTION, lines=["GO"]).run()
    assert asker.image_encodings == 3
    # Prepared while the user types: the first question already starts from the encoded image.
    assert asker.prepare(red_car(), ["STOP"]) is True and asker.prepare(red_car(), ["STOP"]) is False
    assert asker.ask(red_car(), QUESTION, lines=["STOP"]).run().reused_image and asker.image_encodings == 4


def test_a_cancelled_answer_stops_at_once(tiny_smolvlm_dir):
    asker = load_asker(str(tiny_smolvlm_dir), precision="fp32", first_token_min=0.0, mean_min=0.0)
    cancel = threading.Event()
    cancel.set()
    answer = asker.ask(red_car(), QUESTION, cancel=cancel).run()
    assert answer.stopped and answer.sentences == [] and not answer.unsure


def test_a_missing_model_names_the_download_command():
    with pytest.raises(ModelNotAvailable) as caught:
        load_asker("smolvlm-256m")
    assert "models download smolvlm-256m" in str(caught.value)


def test_a_captioner_is_not_taken_for_a_question_model(tiny_git_dir):
    with pytest.raises(ModelLoadError, match="cannot answer questions"):
        load_asker(str(tiny_git_dir))


def test_answers_round_trip_through_their_dict():
    answer = Answer(QUESTION, [AnswerSentence("Red", SEEN, 0.7)], first_token_prob=0.6, mean_prob=0.7)
    again = Answer.from_dict(answer.to_dict())
    assert render.answer(again).speech == render.answer(answer).speech == "It looks like red."


# ------------------------------------------------------------- the Asker's own loop is greedy `generate`
MANY_LINES = ["Main Street Garage", "Open 8:00 - 18:00", "Parking for customers only", "Exit", "Tel. 555 0123",
              "No entry for trucks over 3.5 t", "Please pay at the machine"]  # > 128 keys: bf16 takes the fast path


def _generate_ids(model, asker, question, lines, history=()):
    """Greedy `generate` on the whole prompt (image encoded with it, no cache reuse): the new token ids."""
    import torch

    prompt = build(asker.processor, question, lines, list(history))
    inputs = asker.processor(text=[prompt.text], images=[[red_car()]], return_tensors="pt")
    inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=asker.max_new_tokens, do_sample=False,
                             eos_token_id=sorted(asker._stop_ids), pad_token_id=asker.processor.tokenizer.pad_token_id)
    new = out[0, inputs["input_ids"].shape[1]:].tolist()
    return new[:-1] if new and new[-1] in asker._stop_ids else new


@pytest.mark.parametrize("precision,packed", [("fp32", "0"), ("bf16", "0"), ("bf16", "1")])
def test_the_answer_is_token_for_token_what_greedy_generate_says(tiny_smolvlm_dir, precision, packed, monkeypatch):
    import torch

    from describe_aloud.engine.captioners.packed_linear import packed_linear_works

    if packed == "1" and not packed_linear_works():
        pytest.skip("this torch build has no oneDNN packed bf16 Linear")
    monkeypatch.setenv("DESCRIBE_ALOUD_PACKED_LINEAR", packed)  # both bf16 paths the start-up measurement picks from
    asker = load_asker(str(tiny_smolvlm_dir), precision=precision, first_token_min=0.0, mean_min=0.0,
                       max_new_tokens=24)
    assert (asker.packed_linear_layers > 0) == (packed == "1")
    first = asker.ask(red_car(), QUESTION, lines=MANY_LINES).run()
    assert len(first.token_ids) >= 5  # a real answer to compare, not an immediate stop
    assert first.token_ids == _generate_ids(asker.model, asker, QUESTION, MANY_LINES)
    # A follow-up starts from the cached image; it still says what generate says for the whole conversation.
    history = [Turn(QUESTION, first.guess)]
    follow = asker.ask(red_car(), "And the sign?", lines=MANY_LINES, history=history).run()
    assert follow.reused_image
    assert follow.token_ids == _generate_ids(asker.model, asker, "And the sign?", MANY_LINES, history)
    if precision == "fp32":  # and what stock transformers says, on a model loaded as transformers loads it
        from transformers import AutoModelForImageTextToText

        stock = AutoModelForImageTextToText.from_pretrained(str(tiny_smolvlm_dir), dtype=torch.float32).eval()
        assert stock.config._attn_implementation == "sdpa"
        assert first.token_ids == _generate_ids(stock, asker, QUESTION, MANY_LINES)


def test_decoding_threads_are_measured_per_cpu_and_restored_after_each_step(tiny_smolvlm_dir, tmp_path, monkeypatch):
    import torch

    from describe_aloud.engine.ask import speed

    asker = load_asker(str(tiny_smolvlm_dir), precision="bf16", first_token_min=0.0, mean_min=0.0,
                       max_new_tokens=24)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        times = speed.measure(asker.model, [2, 1], rounds=1)
        assert set(times) == {1, 2} and all(t > 0 for t in times.values())
        monkeypatch.setattr(speed, "measure", lambda model, counts: {counts[0]: 10.0, 1: 1.0})
        assert speed.decode_threads(asker.model, cache_file=tmp_path / "a.json") == 1  # one thread is faster
        monkeypatch.setattr(speed, "measure", lambda model, counts: {counts[0]: 1.0, 1: 1.05})
        assert speed.decode_threads(asker.model, cache_file=tmp_path / "b.json") is None  # not enough: keep 2
        # Steps on one thread: the same answer as generate on two, and the process's count is back after it.
        asker.decode_threads = 1
        seen = []
        original = asker.model.forward
        monkeypatch.setattr(asker.model, "forward", lambda *a, **k: seen.append(torch.get_num_threads()) or original(*a, **k))
        answer = asker.ask(red_car(), QUESTION, lines=MANY_LINES).run()
        monkeypatch.undo()
        assert torch.get_num_threads() == 2 and 1 in seen and seen[0] == 2  # the question itself on two
        assert answer.token_ids == _generate_ids(asker.model, asker, QUESTION, MANY_LINES)
    finally:
        torch.set_num_threads(before)
