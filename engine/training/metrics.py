"""Caption metrics: BLEU-1..4, ROUGE-L, CIDEr-D (our own code) and METEOR (the reference Java jar).

All functions take the same shapes as the COCO caption evaluation (pycocoevalcap), so results agree with
it: `references` maps an image key to a list of reference captions, `hypotheses` maps the same keys to one
caption. Captions are tokenised here with `engine.training.vocab.tokenize` (one tokenizer for every
captioner and for both sides), then joined by single spaces.

Definitions (as in the COCO caption evaluation code):
- BLEU-n: corpus level; clipped n-gram counts summed over all images; brevity penalty with the reference
  length closest to each hypothesis; geometric mean of precisions 1..n.
- ROUGE-L: per image, F-measure (beta 1.2) of the longest common subsequence, with the best precision and
  the best recall over the references; averaged over images.
- CIDEr-D: per image, TF-IDF n-gram (1..4) vectors, IDF from the references of the evaluated set;
  hypothesis counts clipped by the reference counts; Gaussian length penalty (sigma 6); times 10;
  averaged over references, n and images.
- METEOR 1.5 via pycocoevalcap's jar when Java and pycocoevalcap are installed; otherwise None with a reason.
"""
from __future__ import annotations

import math
import shutil
from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from describe_aloud.engine.training.vocab import tokenize

NGram = tuple[str, ...]
METRIC_NAMES = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr-D")


def normalise(caption: str) -> str:
    """The tokenised form every metric sees: lowercase words joined by single spaces."""
    return " ".join(tokenize(caption))


def ngram_counts(words: Sequence[str], n: int) -> Counter[NGram]:
    """Counts of all 1..n-grams of the words."""
    counts: Counter[NGram] = Counter()
    for k in range(1, n + 1):
        for i in range(len(words) - k + 1):
            counts[tuple(words[i : i + k])] += 1
    return counts


def _check(references: Mapping[str, Sequence[str]], hypotheses: Mapping[str, str]) -> list[str]:
    if set(references) != set(hypotheses):
        raise ValueError("references and hypotheses must have the same image keys")
    if not references:
        raise ValueError("no images to score")
    for key, refs in references.items():
        if not refs:
            raise ValueError(f"image {key!r} has no reference caption")
    return list(references)


# ---- BLEU --------------------------------------------------------------------------------------------

def bleu(references: Mapping[str, Sequence[str]], hypotheses: Mapping[str, str], n: int = 4) -> list[float]:
    """Corpus BLEU-1..n (a list of n scores in [0, 1])."""
    keys = _check(references, hypotheses)
    tiny, small = 1e-15, 1e-9  # the reference code's smoothing: 0 matches give ~0, never a division by 0
    correct, guess = [0] * n, [0] * n
    hyp_len_total, ref_len_total = 0, 0
    for key in keys:
        hyp = normalise(hypotheses[key]).split()
        refs = [normalise(r).split() for r in references[key]]
        max_ref_counts: Counter[NGram] = Counter()
        for ref in refs:
            for gram, count in ngram_counts(ref, n).items():
                max_ref_counts[gram] = max(max_ref_counts[gram], count)
        for gram, count in ngram_counts(hyp, n).items():
            correct[len(gram) - 1] += min(count, max_ref_counts.get(gram, 0))
        for k in range(n):
            guess[k] += max(0, len(hyp) - k)
        hyp_len_total += len(hyp)
        # closest reference length; on a tie the shorter one
        ref_len_total += min((abs(len(r) - len(hyp)), len(r)) for r in refs)[1]
    scores, product = [], 1.0
    for k in range(n):
        product *= (correct[k] + tiny) / (guess[k] + small)
        scores.append(product ** (1.0 / (k + 1)))
    ratio = (hyp_len_total + tiny) / (ref_len_total + small)
    if ratio < 1:  # brevity penalty
        scores = [s * math.exp(1 - 1 / ratio) for s in scores]
    return scores


# ---- ROUGE-L -----------------------------------------------------------------------------------------

def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (dynamic programming, one row at a time)."""
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l_one(hypothesis: str, references: Sequence[str], beta: float = 1.2) -> float:
    hyp = normalise(hypothesis).split(" ")
    precisions, recalls = [], []
    for reference in references:
        ref = normalise(reference).split(" ")
        lcs = lcs_length(ref, hyp)
        precisions.append(lcs / len(hyp))
        recalls.append(lcs / len(ref))
    p, r = max(precisions), max(recalls)
    if p == 0 or r == 0:
        return 0.0
    return (1 + beta**2) * p * r / (r + beta**2 * p)


def rouge_l(references: Mapping[str, Sequence[str]], hypotheses: Mapping[str, str]) -> tuple[float, dict[str, float]]:
    """Mean ROUGE-L and the per-image scores."""
    keys = _check(references, hypotheses)
    per_image = {key: rouge_l_one(hypotheses[key], references[key]) for key in keys}
    return sum(per_image.values()) / len(per_image), per_image


# ---- CIDEr-D -----------------------------------------------------------------------------------------

@dataclass
class _TfIdf:
    vectors: list[dict[NGram, float]] = field(default_factory=list)  # one per n
    norms: list[float] = field(default_factory=list)
    length: int = 0


def _tfidf(counts: Counter[NGram], document_frequency: Counter[NGram], log_n_docs: float, n: int) -> _TfIdf:
    out = _TfIdf([{} for _ in range(n)], [0.0] * n, 0)
    for gram, tf in counts.items():
        k = len(gram) - 1
        weight = tf * (log_n_docs - math.log(max(1.0, document_frequency[gram])))
        out.vectors[k][gram] = weight
        out.norms[k] += weight * weight
        if k == 1:
            # The reference code counts the length from the bigram counts (= words - 1); the length
            # penalty only uses differences of lengths, so this matches it exactly.
            out.length += tf
    out.norms = [math.sqrt(v) for v in out.norms]
    return out


def _cider_similarity(hyp: _TfIdf, ref: _TfIdf, n: int, sigma: float) -> list[float]:
    delta = hyp.length - ref.length
    penalty = math.exp(-(delta**2) / (2 * sigma**2))
    values = []
    for k in range(n):
        # hypothesis weights clipped by the reference's: repeating a word does not raise the score
        value = sum(min(w, ref.vectors[k].get(g, 0.0)) * ref.vectors[k].get(g, 0.0) for g, w in hyp.vectors[k].items())
        if hyp.norms[k] != 0 and ref.norms[k] != 0:
            value /= hyp.norms[k] * ref.norms[k]
        values.append(value * penalty)
    return values


def cider_d(
    references: Mapping[str, Sequence[str]], hypotheses: Mapping[str, str], n: int = 4, sigma: float = 6.0
) -> tuple[float, dict[str, float]]:
    """Mean CIDEr-D and the per-image scores (IDF computed from the references of these images)."""
    keys = _check(references, hypotheses)
    ref_counts = {key: [ngram_counts(normalise(r).split(), n) for r in references[key]] for key in keys}
    hyp_counts = {key: ngram_counts(normalise(hypotheses[key]).split(), n) for key in keys}
    document_frequency: Counter[NGram] = Counter()
    for counts_list in ref_counts.values():
        document_frequency.update({gram for counts in counts_list for gram in counts})
    log_n_docs = math.log(float(len(keys)))
    per_image = {}
    for key in keys:
        hyp = _tfidf(hyp_counts[key], document_frequency, log_n_docs, n)
        total = [0.0] * n
        for counts in ref_counts[key]:
            ref = _tfidf(counts, document_frequency, log_n_docs, n)
            total = [t + s for t, s in zip(total, _cider_similarity(hyp, ref, n, sigma))]
        per_image[key] = sum(total) / n / len(ref_counts[key]) * 10.0
    return sum(per_image.values()) / len(per_image), per_image


# ---- METEOR ------------------------------------------------------------------------------------------

def meteor_unavailable_reason() -> str | None:
    """None when METEOR can run here, else a sentence saying why not and what to install."""
    if shutil.which("java") is None:
        return "METEOR needs Java, which is not installed (for example: sudo apt-get install default-jre-headless)."
    try:
        import pycocoevalcap.meteor.meteor  # noqa: F401  (ships the METEOR 1.5 jar)
    except ImportError:
        return "METEOR needs the pycocoevalcap package (pip install pycocoevalcap), which is not installed."
    return None


def meteor(references: Mapping[str, Sequence[str]], hypotheses: Mapping[str, str]) -> tuple[float, dict[str, float]]:
    """Mean METEOR and per-image scores, computed by the METEOR 1.5 jar (starts a Java process).
    Raises RuntimeError with `meteor_unavailable_reason()` when it cannot run."""
    reason = meteor_unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    from pycocoevalcap.meteor.meteor import Meteor

    keys = _check(references, hypotheses)
    gts = {key: [normalise(r) for r in references[key]] for key in keys}
    res = {key: [normalise(hypotheses[key])] for key in keys}
    scorer = Meteor()
    try:
        score, scores = scorer.compute_score(gts, res)
    finally:
        _close_meteor(scorer)
    return float(score), {key: float(s) for key, s in zip(gts, scores)}


def _close_meteor(scorer) -> None:
    """Stop the Java process now rather than at garbage collection."""
    process = getattr(scorer, "meteor_p", None)
    if process is not None and process.poll() is None:
        process.stdin.close()
        process.kill()
        process.wait()
    scorer.meteor_p = _Stopped()


class _Stopped:
    """Stands in for the stopped process so the scorer's own __del__ does nothing harmful."""

    class _Pipe:
        def close(self) -> None:
            pass

    stdin = _Pipe()

    def kill(self) -> None:
        pass

    def wait(self) -> int:
        return 0


# ---- all together ------------------------------------------------------------------------------------

@dataclass
class Scores:
    """Corpus scores (None when a metric could not run), per-image scores, and notes for the user."""

    corpus: dict[str, float | None]
    per_image: dict[str, dict[str, float]]
    notes: list[str] = field(default_factory=list)


def score_captions(
    references: Mapping[str, Sequence[str]], hypotheses: Mapping[str, str], *, with_meteor: bool = True
) -> Scores:
    """Every metric on one set of captions."""
    keys = _check(references, hypotheses)
    bleus = bleu(references, hypotheses)
    rouge, rouge_per = rouge_l(references, hypotheses)
    cider, cider_per = cider_d(references, hypotheses)
    corpus: dict[str, float | None] = {f"BLEU-{k + 1}": b for k, b in enumerate(bleus)}
    corpus["METEOR"] = None
    corpus["ROUGE-L"] = rouge
    corpus["CIDEr-D"] = cider
    per_image = {key: {"ROUGE-L": rouge_per[key], "CIDEr-D": cider_per[key]} for key in keys}
    notes = []
    if with_meteor:
        reason = meteor_unavailable_reason()
        if reason:
            notes.append(reason)
        else:
            try:
                corpus["METEOR"], meteor_per = meteor(references, hypotheses)
                for key in keys:
                    per_image[key]["METEOR"] = meteor_per[key]
            except (OSError, RuntimeError, ValueError) as exc:  # a broken Java: say so, keep the rest
                notes.append(f"METEOR could not run: {exc}")
    return Scores({name: corpus[name] for name in METRIC_NAMES}, per_image, notes)
