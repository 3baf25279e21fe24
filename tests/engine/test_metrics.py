"""Our caption metrics against hand-computed values and against the reference code (pycocoevalcap)."""
from __future__ import annotations

import math
import shutil

import pytest

from describe_aloud.engine.training import metrics
from describe_aloud.engine.training.vocab import tokenize

pycoco_bleu = pytest.importorskip("pycocoevalcap.bleu.bleu")
from pycocoevalcap.cider.cider import Cider  # noqa: E402
from pycocoevalcap.rouge.rouge import Rouge  # noqa: E402

REFERENCES = {
    "1": ["A man is riding a horse on the beach.", "A person rides a brown horse near the sea.",
          "Someone on horseback at the shore."],
    "2": ["Two dogs play with a red ball in the grass.", "Dogs chasing a ball on a lawn."],
    "3": ["A plate of food with broccoli and rice.", "A white plate holding rice, broccoli and chicken.",
          "Dinner on a plate."],
    "4": ["A red circle above a blue square.", "A blue square below a red circle."],
    "5": ["A street with cars and a bus.", "Traffic on a city street, a bus in front."],
}
HYPOTHESES = {
    "1": "a man riding a horse on a beach",
    "2": "a dog playing with a ball in the grass grass",
    "3": "a plate of rice and broccoli",
    "4": "a red circle above a blue square",
    "5": "a bus",
}


def _tokenised():
    gts = {k: [" ".join(tokenize(r)) for r in refs] for k, refs in REFERENCES.items()}
    res = {k: [" ".join(tokenize(h))] for k, h in HYPOTHESES.items()}
    return gts, res


def test_tokenize_lowercases_and_drops_punctuation():
    assert tokenize("A white plate, holding RICE... and don't-stop!") == [
        "a", "white", "plate", "holding", "rice", "and", "don't", "stop"]


def test_bleu_agrees_with_pycocoevalcap():
    gts, res = _tokenised()
    reference, _ = pycoco_bleu.Bleu(4).compute_score(gts, res, verbose=0)
    ours = metrics.bleu(REFERENCES, HYPOTHESES)
    assert ours == pytest.approx(reference, abs=1e-9)
    assert 0.2 < ours[3] < ours[0] < 1  # a real spread, not a degenerate case


def test_rouge_l_agrees_with_pycocoevalcap():
    gts, res = _tokenised()
    reference, reference_per = Rouge().compute_score(gts, res)
    ours, ours_per = metrics.rouge_l(REFERENCES, HYPOTHESES)
    assert ours == pytest.approx(reference, abs=1e-12)
    assert [ours_per[k] for k in gts] == pytest.approx(list(reference_per), abs=1e-12)


def test_cider_d_agrees_with_pycocoevalcap():
    gts, res = _tokenised()
    reference, reference_per = Cider().compute_score(gts, res)
    ours, ours_per = metrics.cider_d(REFERENCES, HYPOTHESES)
    assert ours == pytest.approx(reference, abs=1e-9)
    assert [ours_per[k] for k in gts] == pytest.approx(list(reference_per), abs=1e-9)
    assert ours_per["4"] > ours_per["5"]  # the exact caption beats the two-word one


def test_perfect_captions_score_one_on_bleu_and_rouge():
    refs = {"a": ["a cat on a mat"], "b": ["two dogs in the snow"]}
    hyps = {"a": "A cat on a mat.", "b": "two dogs in the snow"}
    assert metrics.bleu(refs, hyps) == pytest.approx([1, 1, 1, 1])
    assert metrics.rouge_l(refs, hyps)[0] == pytest.approx(1.0)


def test_bleu_brevity_penalty_by_hand():
    # hypothesis "a cat" against "a cat on a mat": precisions 1, 1; brevity penalty exp(1 - 5/2)
    scores = metrics.bleu({"x": ["a cat on a mat"]}, {"x": "a cat"}, n=2)
    assert scores[0] == pytest.approx(math.exp(1 - 5 / 2), rel=1e-6)
    assert scores[1] == pytest.approx(math.exp(1 - 5 / 2), rel=1e-6)


def test_mismatched_keys_are_refused():
    with pytest.raises(ValueError):
        metrics.bleu({"a": ["x"]}, {"b": "x"})


@pytest.mark.skipif(shutil.which("java") is None, reason="METEOR needs Java (installed in CI)")
def test_meteor_runs_with_java_and_ranks_captions():
    score, per_image = metrics.meteor(REFERENCES, HYPOTHESES)
    assert 0 < score < 1
    assert per_image["4"] > 0.9 > per_image["5"]


def test_meteor_absence_is_said_clearly(monkeypatch):
    monkeypatch.setattr(metrics.shutil, "which", lambda name: None)
    scores = metrics.score_captions(REFERENCES, HYPOTHESES)
    assert scores.corpus["METEOR"] is None
    assert any("Java" in note for note in scores.notes)
    assert scores.corpus["CIDEr-D"] > 0 and scores.corpus["BLEU-4"] > 0
