"""The Asker: a small vision-language model (SmolVLM, transformers' native Idefics3 class) that answers
questions about one image, sentence by sentence, honestly.

    asker = load_asker("smolvlm-256m")              # seconds: a worker thread, never the GUI thread
    stream = asker.ask(image, "What colour is the car?", lines=["STOP"], history=[])
    for sentence in stream:                          # AnswerSentence, as soon as each one is complete
        speak(render.answer_sentence(sentence, first=...))
    stream.answer                                    # the final Answer (confidence, grounding, timings)

How it stays quick on a CPU:
- one 512 px tile per image (`do_image_splitting=False`): 64 image tokens for SmolVLM-256M;
- the image and its read text are encoded once per image: the model's key/value cache after that prefix
  is kept (`_Session`) and copied for every question about the same image, so a follow-up question only
  runs the question's own tokens (`Answer.reused_image`);
- greedy decoding in our own loop (no generate() thread): each token's probability is at hand for the
  "I can't tell" rule (engine.ask.confidence), and the first sentence is handed over as soon as it ends.
  The loop is token for token what greedy `generate` says on the same inputs (tests/engine/test_ask.py), and
  costs no more per token: profiled on SmolVLM-256M shapes, its own work between two model steps (the
  probability, decoding the answer so far, the sentence split) is well under 1 ms of a ~45 ms step; the
  step's time is the model's (bench/bench_ask.py prints both);
- the model's side (engine.ask.loading): a decoding step's attention as two products, grouped-query heads
  included (engine.captioners.decode_attention), and bf16 Linear weights packed for oneDNN when the
  captioners' start-up measurement finds that faster on this CPU (engine.captioners.decode_path); the
  decoding steps on one torch thread when that was measured faster (engine.ask.speed: on a shared 2-core
  CPU a step took 24 ms on one thread and 208 ms on two).

Threading contract: like HFCaptioner, an Asker is not thread-safe. Build it on one thread and call `ask`
only from the thread that owns it; `cancel` (a threading.Event) may be set from any thread, and stops the
answer at the next token.
"""
from __future__ import annotations

import copy
import hashlib
import logging
import threading
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from describe_aloud.engine.ask import confidence, grounding
from describe_aloud.engine.ask.prompt import Prompt, Turn, build
from describe_aloud.engine.speech.sentences import split_sentences

log = logging.getLogger(__name__)

ASK_FAMILIES = ("idefics3",)
DEFAULT_MAX_NEW_TOKENS = 60  # two or three sentences: answers are short; "more" is another question


@dataclass(frozen=True)
class AnswerSentence:
    text: str
    grounding: str  # grounding.READ (repeats read text) or grounding.SEEN (the model's eyes)
    mean_prob: float


@dataclass
class Answer:
    question: str
    sentences: list[AnswerSentence] = field(default_factory=list)
    unsure: bool = False  # "I can't tell from this image": the first sentence failed the confidence rule
    guess: str = ""  # everything the model generated, said or not (for the log and --json)
    token_ids: list[int] = field(default_factory=list)  # what the model generated (tests, bench; not saved)
    first_token_prob: float = 0.0
    mean_prob: float = 0.0  # over the tokens of the sentences that were said (the first one when unsure)
    stopped: bool = False  # a newer question or the user stopped it
    reused_image: bool = False  # the image's encoding came from an earlier question
    timings_ms: dict[str, float] = field(default_factory=dict)
    model_id: str = ""

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)

    @property
    def grounding(self) -> str:
        kinds = {s.grounding for s in self.sentences}
        return kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else "none")

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question, "answer": self.text, "unsure": self.unsure, "guess": self.guess,
            "grounding": self.grounding, "first_token_prob": round(self.first_token_prob, 4),
            "mean_prob": round(self.mean_prob, 4), "stopped": self.stopped, "reused_image": self.reused_image,
            "sentences": [{"text": s.text, "grounding": s.grounding, "mean_prob": round(s.mean_prob, 4)}
                          for s in self.sentences],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()}, "model": self.model_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Answer":
        sentences = [AnswerSentence(s["text"], s.get("grounding", grounding.SEEN), float(s.get("mean_prob", 0)))
                     for s in data.get("sentences", [])]
        return cls(question=data.get("question", ""), sentences=sentences, unsure=bool(data.get("unsure")),
                   guess=data.get("guess", ""), first_token_prob=float(data.get("first_token_prob", 0)),
                   mean_prob=float(data.get("mean_prob", 0)), stopped=bool(data.get("stopped")),
                   reused_image=bool(data.get("reused_image")), model_id=data.get("model", ""))


class AnswerStream:
    """Iterate for the sentences as they are ready; `answer` is complete once the iteration ends."""

    def __init__(self, sentences: Iterator[AnswerSentence], answer: Answer) -> None:
        self._sentences = sentences
        self.answer = answer

    def __iter__(self) -> Iterator[AnswerSentence]:
        return self._sentences

    def run(self) -> Answer:
        """Consume the stream (no streaming wanted) and return the answer."""
        for _sentence in self._sentences:
            pass
        return self.answer


@dataclass
class _Session:
    """The cache of one image's prefix (image + read text), kept for follow-up questions."""

    key: tuple[str, str]
    prefix_ids: Any  # (1, n) the prefix's token ids
    cache: Any  # the model's DynamicCache after the prefix (never extended: copied per question)


def clean(text: str) -> str:
    """Words a person can hear: no replacement characters (bytes cut mid-character), no control characters."""
    text = "".join(ch for ch in text if ch == "\n" or (ch != "\ufffd" and unicodedata.category(ch) != "Cc"))
    return " ".join(text.split())


def image_key(image: Image.Image) -> str:
    """Identifies an image by its pixels: the same picture asked about again reuses its encoding."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{image.mode}{image.size}".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


class Asker:
    def __init__(self, model: Any, processor: Any, *, model_id: str = "", device: str = "cpu",
                 precision: str = "fp32", max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
                 first_token_min: float = confidence.FIRST_TOKEN_MIN, mean_min: float = confidence.MEAN_MIN) -> None:
        self.model = model
        self.processor = processor
        self.model_id = model_id
        self.device = device
        self.precision = precision
        self.max_new_tokens = max_new_tokens
        self.first_token_min = first_token_min
        self.mean_min = mean_min
        self._session: _Session | None = None
        tokenizer = processor.tokenizer
        stops = {tokenizer.convert_tokens_to_ids("<end_of_utterance>"), tokenizer.eos_token_id}
        eos = model.generation_config.eos_token_id
        stops.update(eos if isinstance(eos, (list, tuple)) else [eos])
        self._stop_ids = {int(i) for i in stops if isinstance(i, int) and i >= 0}
        self.image_encodings = 0  # how many times an image went through the vision tower (tests, bench)
        self.packed_linear_layers = 0  # bf16 Linear layers on packed weights (set by load_asker)
        self.decode_threads: int | None = None  # torch threads of a decoding step (None: the process's; load_asker)

    def __repr__(self) -> str:
        return f"Asker({self.model_id!r}, {self.device}, {self.precision})"

    # ------------------------------------------------------------------------------------------ public
    def ask(self, image: Image.Image, question: str, lines: Sequence[str] = (), history: Sequence[Turn] = (),
            *, cancel: threading.Event | None = None) -> AnswerStream:
        answer = Answer(question=question, model_id=self.model_id)
        return AnswerStream(self._answer(image, question, list(lines), list(history), cancel, answer), answer)

    def forget_image(self) -> None:
        self._session = None

    def warm_up(self) -> None:
        """One tiny question, so the first real one pays for no lazy initialisation."""
        self.ask(Image.new("RGB", (64, 64), "white"), "What is this?").run()
        self._session = None

    # ----------------------------------------------------------------------------------------- private
    def _answer(self, image: Image.Image, question: str, lines: list[str], history: list[Turn],
                cancel: threading.Event | None, answer: Answer) -> Iterator[AnswerSentence]:
        import torch

        started = time.perf_counter()
        image = image if image.mode == "RGB" else image.convert("RGB")
        prompt = build(self.processor, question, lines, history)
        with torch.inference_mode():
            cache, suffix_ids, answer.reused_image = self._cache_after_prefix(image, prompt, answer.timings_ms)
            mark = time.perf_counter()
            logits = self.model(input_ids=suffix_ids, cache=cache, use_cache=True, logits_to_keep=1).logits[:, -1]
            answer.timings_ms["question"] = (time.perf_counter() - mark) * 1000
            yield from self._decode(logits, cache, lines, cancel, answer, started)
        answer.timings_ms["total"] = (time.perf_counter() - started) * 1000

    def prepare(self, image: Image.Image, lines: Sequence[str] = ()) -> bool:
        """Encode the image and its read text now (e.g. while the user types the question), so the first
        question about it starts from the cached prefix. True when it had to be encoded."""
        import torch

        image = image if image.mode == "RGB" else image.convert("RGB")
        prompt = build(self.processor, "?", list(lines), [])
        with torch.inference_mode():
            return self._ensure_session(image, prompt.prefix, {})

    def _ensure_session(self, image: Image.Image, prefix: str, timings: dict[str, float]) -> bool:
        """Make `_session` the cache of this image + prefix; True when it had to be computed."""
        from transformers import DynamicCache

        key = (image_key(image), prefix)
        if self._session is not None and self._session.key == key:
            return False
        mark = time.perf_counter()
        inputs = self.processor(text=[prefix], images=[[image]], return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items() if k != "attention_mask"}
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        cache = DynamicCache(config=self.model.config)
        self.model(**inputs, cache=cache, use_cache=True, logits_to_keep=1)
        self.image_encodings += 1
        self._session = _Session(key=key, prefix_ids=inputs["input_ids"], cache=cache)
        timings["image"] = (time.perf_counter() - mark) * 1000
        return True

    def _cache_after_prefix(self, image: Image.Image, prompt: Prompt, timings: dict[str, float]):
        """(a copy of the prefix's cache, the question's token ids, whether the image was already encoded)."""
        import torch

        reused = not self._ensure_session(image, prompt.prefix, timings)
        suffix = self.processor.tokenizer(prompt.suffix, add_special_tokens=False, return_tensors="pt")
        suffix_ids = suffix["input_ids"].to(self.device)
        if suffix_ids.shape[1] == 0:  # cannot happen with a chat template ("Assistant:"), but never crash
            suffix_ids = torch.tensor([[self.processor.tokenizer.eos_token_id]], device=self.device)
        return copy.deepcopy(self._session.cache), suffix_ids, reused

    def _decode(self, logits, cache, lines: list[str], cancel: threading.Event | None, answer: Answer,
                started: float) -> Iterator[AnswerSentence]:
        """Greedy decoding; yields each sentence once it is complete and passes the confidence rule."""
        import torch

        tokenizer = self.processor.tokenizer
        ids: list[int] = []
        answer.token_ids = ids  # grows with the answer (also when the confidence rule cuts it)
        probs: list[float] = []
        sentence_start = 0  # index in ids/probs where the current sentence began
        said = 0  # sentences handed over
        for _step in range(self.max_new_tokens):
            if cancel is not None and cancel.is_set():
                answer.stopped = True
                break
            token = int(torch.argmax(logits, dim=-1)[0])
            if token in self._stop_ids:
                break
            probs.append(confidence.token_probabilities(logits[0:1], [token])[0])
            ids.append(token)
            if len(ids) == 1:
                answer.timings_ms["first_token"] = (time.perf_counter() - started) * 1000
            text = tokenizer.decode(ids, skip_special_tokens=True)
            pieces = split_sentences(text)
            if len(pieces) > said + 1:  # a new sentence began with this token: the one before is complete
                ok, done = self._hand_over(pieces[said], probs[sentence_start:-1], lines, answer, said == 0)
                if not ok:
                    return
                said, sentence_start = said + 1, len(ids) - 1
                yield done
            if len(ids) >= self.max_new_tokens:
                break  # no decoding step for a token that will not be used
            logits = self._step(token, cache)
        answer.guess = clean(tokenizer.decode(ids, skip_special_tokens=True))
        pieces = split_sentences(answer.guess)
        if len(pieces) > said and not answer.stopped:
            ok, done = self._hand_over(" ".join(pieces[said:]), probs[sentence_start:], lines, answer, said == 0)
            if ok:
                yield done
        elif said == 0 and not answer.stopped:
            answer.unsure = True  # the model said nothing at all

    def _step(self, token: int, cache):
        """One decoding step, with `decode_threads` torch threads (engine.ask.speed: one thread when that was
        measured faster here), the process's count restored after it (so before any yield)."""
        import torch

        from describe_aloud.engine.device import torch_threads

        with torch_threads(self.decode_threads):
            return self.model(input_ids=torch.tensor([[token]], device=self.device), cache=cache,
                              use_cache=True).logits[:, -1]

    def _hand_over(self, text: str, token_probs: list[float], lines: list[str], answer: Answer,
                   first: bool) -> tuple[bool, AnswerSentence | None]:
        """Judge a complete sentence: (True, it) to say it, (False, None) to stop the answer here."""
        verdict = confidence.judge(token_probs, first=first, first_token_min=self.first_token_min,
                                   mean_min=self.mean_min)
        if first:
            answer.first_token_prob = verdict.first_token_prob
        if not answer.guess:
            answer.guess = text
        if not verdict.sure:
            if first:
                answer.unsure, answer.mean_prob = True, verdict.mean_prob
            log.info("answer cut (first=%s): first token %.3f, mean %.3f", first, verdict.first_token_prob,
                     verdict.mean_prob)
            return False, None
        text = clean(text)
        if not text:  # only markup or broken bytes: nothing to say, and the answer ends here
            if first:
                answer.unsure = True
            return False, None
        sentence = AnswerSentence(text, grounding.grounding(text, lines), verdict.mean_prob)
        answer.sentences.append(sentence)
        answer.mean_prob = confidence.mean([s.mean_prob for s in answer.sentences])
        return True, sentence
