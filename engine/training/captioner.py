"""The "seed" captioner backend: a checkpoint made by `python main.py train` (CNN + attention LSTM).

`load_seed_captioner("run/best.pt", ...)` rebuilds the network from the checkpoint's state_dicts and
settings, with the checkpoint's own preprocessing (the same `Preprocessing` object training used).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from PIL import Image

from describe_aloud.engine.captioners.base import CaptionResult
from describe_aloud.engine.device import resolve_device, resolve_precision, torch_dtype
from describe_aloud.engine.errors import ModelLoadError
from describe_aloud.engine.i18n import _
from describe_aloud.engine.training.checkpoint import load_checkpoint
from describe_aloud.engine.training.model import CaptionModel, ModelConfig
from describe_aloud.engine.training.preprocessing import Preprocessing
from describe_aloud.engine.training.vocab import Vocabulary


@dataclass
class AttentionCaption:
    """A caption word by word, with where the model looked for each word: `maps[i]` is a
    (grid, grid) tensor of attention weights summing to 1, for `words[i]`."""

    words: list[str]
    maps: torch.Tensor  # (n_words, grid, grid)
    score: float

    @property
    def caption(self) -> str:
        return " ".join(self.words)


class SeedCaptioner:
    """Captions images with a trained seed model. Not thread-safe: one thread owns one captioner
    (the worker thread in the app); `caption` blocks while the model runs."""

    capabilities = frozenset({"caption"})

    def __init__(
        self,
        model: CaptionModel,
        vocab: Vocabulary,
        preprocess: Preprocessing,
        *,
        model_id: str = "seed",
        beam_size: int = 3,
        device: str = "cpu",
        precision: str = "fp32",
        batch_size: int = 16,
    ) -> None:
        self.model = model
        self.vocab = vocab
        self.preprocess = preprocess
        self.model_id = model_id
        self.beam_size = beam_size
        self.device = device
        self.precision = precision
        self.batch_size = batch_size

    def caption(
        self,
        images: Sequence[Image.Image],
        *,
        detail: bool = False,
        objects: bool = False,
        max_new_tokens: int | None = None,
        plain: bool = True,
    ) -> list[CaptionResult]:
        """One caption per image (detail, objects and plain are not capabilities of this model: ignored)."""
        results = []
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            captions, encode_s, decode_s = self._run(chunk, max_new_tokens)
            for attention in captions:
                results.append(CaptionResult(
                    caption=attention.caption,
                    timings_ms={"encode": 1000 * encode_s / len(chunk), "decode": 1000 * decode_s / len(chunk)},
                ))
        return results

    def warm_up(self) -> None:
        """One tiny caption, so the first real one pays no lazy initialisation."""
        self.caption([Image.new("RGB", (32, 32), (128, 128, 128))], max_new_tokens=2)

    def caption_with_attention(self, images: Sequence[Image.Image], max_new_tokens: int | None = None) -> list[AttentionCaption]:
        """Captions with the attention map of each word (for showing where the model looked)."""
        out: list[AttentionCaption] = []
        for start in range(0, len(images), self.batch_size):
            out.extend(self._run(images[start : start + self.batch_size], max_new_tokens)[0])
        return out

    def _run(self, images: Sequence[Image.Image], max_new_tokens: int | None) -> tuple[list[AttentionCaption], float, float]:
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode(), self._autocast():
                t0 = time.perf_counter()
                pixels = self.preprocess.batch(images).to(self.device)
                features = self.model.encoder(pixels)  # (B, P, E)
                t1 = time.perf_counter()
                decoded = self.model.decode(features, self.beam_size, max_new_tokens)
                t2 = time.perf_counter()
        finally:
            self.model.train(was_training)
        grid = self.model.config.grid_size
        captions = [
            AttentionCaption(self.vocab.decode_words(d.ids), d.alphas.reshape(-1, grid, grid), d.score)
            for d in decoded
        ]
        return captions, t1 - t0, t2 - t1

    def _autocast(self):
        if self.precision in ("fp16", "bf16"):
            device_type = "cuda" if self.device.startswith("cuda") else "cpu"
            return torch.autocast(device_type=device_type, dtype=torch_dtype(self.precision))
        return torch.autocast(device_type="cpu", enabled=False)


def build_model(checkpoint: dict) -> tuple[CaptionModel, Vocabulary, Preprocessing]:
    """Network + vocabulary + preprocessing from a loaded checkpoint dict (no download: random init,
    then the saved weights)."""
    config = ModelConfig.from_dict(checkpoint["model_config"])
    vocab = Vocabulary.from_dict(checkpoint["vocab"])
    model = CaptionModel(config, len(vocab), start_id=vocab.start_id, end_id=vocab.end_id, pretrained=False)
    model.encoder.load_state_dict(checkpoint["encoder"])
    model.decoder.load_state_dict(checkpoint["decoder"])
    return model, vocab, Preprocessing.from_dict(checkpoint["preprocessing"])


def load_seed_captioner(
    target: str, *, precision: str = "auto", device: str = "auto", local_files_only: bool = True
) -> SeedCaptioner:
    """The registered factory for "seed". `local_files_only` is accepted for the common signature: a
    checkpoint is always a local file. On a CPU, "auto" precision is fp32 (this small model gains
    nothing from bf16 and keeps exactly its validation behaviour); int8 quantizes the decoder."""
    path = Path(target).expanduser()
    checkpoint = load_checkpoint(path)
    try:
        model, vocab, preprocess = build_model(checkpoint)
    except (KeyError, RuntimeError, ValueError) as exc:
        raise ModelLoadError(_("The checkpoint {path} does not match the seed model ({reason}).").format(path=path, reason=exc)) from exc
    device = resolve_device(device)
    precision = "fp32" if precision == "auto" and device == "cpu" else resolve_precision(precision, device)
    model.eval()
    if precision == "int8":
        model.decoder = torch.ao.quantization.quantize_dynamic(model.decoder, {torch.nn.Linear, torch.nn.LSTMCell}, dtype=torch.qint8)
    model.to(device)
    beam = int(checkpoint.get("train_config", {}).get("beam", 3))
    return SeedCaptioner(model, vocab, preprocess, model_id=str(path), beam_size=beam, device=device, precision=precision)
