"""The lean GIT captioner: preprocessing, the image encoded once, greedy decoding with a KV cache, and the
words through the `tokenizers` package — the app's caption path for GIT checkpoints without transformers.

Decoding is transformers' greedy `generate` as the app calls it (engine.captioners.hf.HFCaptioner.caption:
do_sample=False, num_beams=1, max_new_tokens / min_new_tokens, the cache on), step for step: the first pass
runs the image tokens and the start token together; then one token per step over the cached keys/values;
the logits of the last position in float32; eos masked until min_new_tokens, suppressed tokens masked;
argmax; a row that has ended gets the pad token; stop when every row has ended or the budget is spent.
Not thread-safe, like HFCaptioner: one owner thread calls `caption` / `warm_up`.
"""
from __future__ import annotations

import time
from typing import Any, Sequence

import torch
from PIL import Image

from describe_aloud.engine.captioners.base import CaptionResult
from describe_aloud.engine.captioners.hf_families import ADAPTERS, DEFAULT_MAX_NEW_TOKENS, TASK_CAPTION
from describe_aloud.engine.captioners.lean_git.config import GitFolder
from describe_aloud.engine.captioners.lean_git.model import LeanGit
from describe_aloud.engine.captioners.lean_git.preprocess import pixel_values


def clean_up_tokenization(text: str) -> str:
    """transformers' PreTrainedTokenizerBase.clean_up_tokenization (for tokenizers whose config asks)."""
    return (text.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
            .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s")
            .replace(" 've", "'ve").replace(" 're", "'re"))


class LeanGitCaptioner:
    """A GIT captioner in plain torch (see the module docstring). Same protocol as HFCaptioner."""

    def __init__(self, *, model: LeanGit, folder: GitFolder, tokenizer: Any, model_id: str, device: str,
                 precision: str) -> None:
        self.model = model
        self.folder = folder
        self.tokenizer = tokenizer
        self.adapter = ADAPTERS["git"]
        self.model_id = model_id
        self.family = "git"
        self.capabilities: frozenset[str] = self.adapter.capabilities
        self.beam_size: int | None = None  # greedy
        self.device = device
        self.precision = precision
        self.attn_implementation = "lean (sdpa)"
        self.packed_linear_layers = 0
        self._dtype = model.output.bias.dtype
        # transformers skips the clean-up for BPE tokenizers (it would eat real spaces before punctuation).
        self._clean_up = folder.clean_up_spaces and type(tokenizer.model).__name__ != "BPE"

    def __repr__(self) -> str:
        return (f"LeanGitCaptioner({self.model_id!r}, family=git, device={self.device}, "
                f"precision={self.precision}, attention={self.attn_implementation})")

    def caption(self, images: Sequence[Image.Image], *, detail: bool = False, objects: bool = False,
                max_new_tokens: int | None = None, plain: bool = True,
                min_new_tokens: int | None = None) -> list[CaptionResult]:
        """One caption per image (GIT can only caption: `detail` / `objects` / `plain` change nothing).
        Timings per image, in ms: preprocess, vision (image encoder + projection), decode."""
        images = [im if im.mode == "RGB" else im.convert("RGB") for im in images]
        if not images:
            return []
        t0 = time.perf_counter()
        pixels = pixel_values(images, self.folder.image).to(self.device, dtype=self._dtype)
        t1 = time.perf_counter()
        budget = max_new_tokens or DEFAULT_MAX_NEW_TOKENS[TASK_CAPTION]
        if min_new_tokens is None:
            min_new_tokens = self.folder.generation.min_new_tokens
        with torch.inference_mode():
            image_tokens = self.model.encode_image(pixels)
            t2 = time.perf_counter()
            rows = self.generate(image_tokens, max_new_tokens=budget, min_new_tokens=min(min_new_tokens, budget))
        texts = self.decode(rows)
        t3 = time.perf_counter()
        n = len(images)
        timings = {"preprocess": (t1 - t0) * 1000 / n, "vision": (t2 - t1) * 1000 / n,
                   "decode": (t3 - t2) * 1000 / n}
        return [CaptionResult(caption=text, timings_ms=dict(timings)) for text in texts]

    def generate(self, image_tokens: torch.Tensor, *, max_new_tokens: int, min_new_tokens: int = 0) -> torch.Tensor:
        """Greedy token ids, (batch, 1 + new tokens), the start token first (as transformers' generate)."""
        gen = self.folder.generation
        model = self.model
        batch, n_image = image_tokens.shape[:2]
        device = image_tokens.device
        ids = torch.full((batch, 1), gen.bos_token_id, dtype=torch.long, device=device)
        eos = torch.tensor(gen.eos_token_ids, device=device)
        suppress = torch.tensor(gen.suppress_tokens, dtype=torch.long, device=device)
        begin_suppress = torch.tensor(gen.begin_suppress_tokens, dtype=torch.long, device=device)
        unfinished = torch.ones(batch, dtype=torch.long, device=device)
        cache: list = [None] * len(model.git.encoder.layer)
        hidden = torch.cat([image_tokens, model.embed_text(ids, 0)], dim=1)
        mask = model.prefill_mask(n_image, 1, batch, hidden.dtype, device)
        logits = model.step(hidden, mask, cache)
        for new in range(max_new_tokens):
            scores = logits[:, -1, :].to(copy=True, dtype=torch.float32)
            if new < min_new_tokens:
                scores[:, eos] = -float("inf")
            if suppress.numel():
                scores[:, suppress] = -float("inf")
            if new == 0 and begin_suppress.numel():
                scores[:, begin_suppress] = -float("inf")
            token = scores.argmax(dim=-1)
            token = token * unfinished + gen.pad_token_id * (1 - unfinished)
            ids = torch.cat([ids, token[:, None]], dim=-1)
            unfinished = unfinished & ~torch.isin(token, eos)
            if new + 1 == max_new_tokens or not bool(unfinished.any()):
                break
            length = n_image + ids.shape[1]
            step_mask = torch.zeros(batch, 1, 1, length, dtype=hidden.dtype, device=device)
            logits = model.step(model.embed_text(token[:, None], ids.shape[1] - 1), step_mask, cache)
        return ids

    def decode(self, rows: torch.Tensor) -> list[str]:
        texts = self.tokenizer.decode_batch(rows.tolist(), skip_special_tokens=True)
        if self._clean_up:
            texts = [clean_up_tokenization(t) for t in texts]
        return [self.adapter.clean(t) for t in texts]

    def warm_up(self) -> None:
        """One tiny caption so the first real one pays no lazy initialisation (kernels, allocator)."""
        self.caption([Image.new("RGB", (64, 64), (128, 128, 128))], max_new_tokens=2)


__all__ = ["LeanGitCaptioner", "clean_up_tokenization"]
