"""When the model does not know: "I can't tell from this image", decided from its own token probabilities.

The rule (`judge`): an answer's first sentence is said only when
- the probability of its FIRST token is at least FIRST_TOKEN_MIN (0.15), and
- the MEAN probability of the sentence's tokens is at least MEAN_MIN (0.35).
Later sentences must pass the mean rule too; the answer stops before the first one that does not.

Why these two numbers (greedy decoding, so each probability is that of the most likely token):
- The first token carries the decision ("Red" vs "Blue", "Yes" vs "No"); when the model spreads its belief
  over several answers, none gets much. Below 0.15 at least six answers are about as likely as the chosen
  one: that is a guess, not an answer.
- A sentence the model is sure of has most tokens near 1 (continuations of words, punctuation); a mean
  below 0.35 means most of its words were close calls, where small VLMs invent (brands, numbers, text).
  A random model over a 49k vocabulary scores about 1e-4: it always says "I can't tell".
The thresholds are module constants, and `Asker` takes them as arguments so they can be tuned once real
weights are measured against a VQA set (see docs/user-guide.md "Asking about an image").

Pure functions; safe from any thread.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

FIRST_TOKEN_MIN = 0.15
MEAN_MIN = 0.35


@dataclass(frozen=True)
class Verdict:
    sure: bool
    first_token_prob: float
    mean_prob: float


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def judge(token_probs: Sequence[float], *, first: bool, first_token_min: float = FIRST_TOKEN_MIN,
          mean_min: float = MEAN_MIN) -> Verdict:
    """Whether a sentence whose tokens had these probabilities may be said. `first`: it opens the answer
    (then its first token is checked as well). An empty sentence is never sure."""
    if not token_probs:
        return Verdict(False, 0.0, 0.0)
    first_prob, average = float(token_probs[0]), mean([float(p) for p in token_probs])
    sure = average >= mean_min and (not first or first_prob >= first_token_min)
    return Verdict(sure, first_prob, average)


def token_probabilities(logits, chosen) -> list[float]:
    """The softmax probability of each chosen token: `logits` (steps, vocab) of any float dtype, `chosen`
    (steps,) token ids. Computed in fp32 (bf16 logits would round the probabilities)."""
    import torch

    probs = torch.softmax(logits.float(), dim=-1)
    return probs.gather(-1, torch.as_tensor(chosen).view(-1, 1)).view(-1).tolist()
