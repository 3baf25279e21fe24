"""Training the seed captioner by transfer learning, top to bottom:

1. read the caption file; build the vocabulary from the training captions;
2. build the model (encoder with ImageNet weights when asked, frozen; decoder from scratch);
3. each epoch: teacher-forced cross-entropy + doubly stochastic attention regularisation; at
   `unfreeze_epoch` the top `unfreeze_blocks` encoder blocks join the optimizer with their own learning rate;
4. after each epoch: validation BLEU-4 / CIDEr-D with beam search, `last.pt` saved, `best.pt` when better.

Runs are reproducible: everything random is seeded, the shuffling of epoch e depends only on (seed, e),
and the random-number state is saved with each checkpoint, so a resumed run continues exactly as an
uninterrupted one would. Runs in the calling thread (a CLI command); not for the GUI thread.
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from describe_aloud.engine.device import resolve_device
from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.i18n import _
from describe_aloud.engine.training.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from describe_aloud.engine.training.config import TrainConfig
from describe_aloud.engine.training.dataset import CaptionPairs, ImageRecord, collate_pairs, load_caption_data
from describe_aloud.engine.training.metrics import bleu, cider_d
from describe_aloud.engine.training.model import CaptionModel
from describe_aloud.engine.training.preprocessing import IMAGENET_MEAN, IMAGENET_STD, Preprocessing, load_image
from describe_aloud.engine.training.vocab import Vocabulary

# On resume the saved configuration is used; only these may be changed from the command line.
RESUME_OVERRIDABLE = ("epochs", "num_workers", "device", "max_val_images", "data", "images")


@dataclass
class EpochReport:
    epoch: int
    loss: float
    bleu4: float
    cider: float
    seconds: float
    images_per_second: float
    encoder_blocks_training: int
    best: bool = False


@dataclass
class TrainResult:
    out: Path
    best_epoch: int
    best_score: float
    history: list[dict[str, Any]] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def config_for_resume(out: str | Path, overrides: dict[str, Any]) -> tuple[TrainConfig, list[str]]:
    """The configuration saved in `<out>/last.pt`, with the allowed overrides applied; also the names of
    other options that were given but are ignored (a resumed run must keep its model and schedule)."""
    checkpoint = load_checkpoint(Path(out) / "last.pt")
    data = dict(checkpoint["train_config"])
    ignored = []
    for key, value in overrides.items():
        if value is None:
            continue
        if key in RESUME_OVERRIDABLE:
            data[key] = value
        elif key == "model":
            saved = data.get("model", {})
            ignored += [f"model.{k}" for k, v in value.items() if v is not None and saved.get(k) != v]
        elif data.get(key) != value:
            ignored.append(key)
    data["out"] = str(out)
    config = TrainConfig.from_dict(data)
    config.validate()
    return config, ignored


class Trainer:
    """Holds one run's state. `run()` trains from `start_epoch` to `config.epochs`."""

    def __init__(self, config: TrainConfig, *, resume: bool = False, log: Callable[[str], None] = print,
                 progress: bool = True) -> None:
        if not config.pretrained and config.unfreeze_epoch is None:
            # A random encoder that never trains cannot see anything: train all of it from the start.
            config.unfreeze_epoch, config.unfreeze_blocks = 1, -1
            log("Note: without pretrained weights the whole encoder trains from epoch 1 "
                "(unfreeze_epoch = 1, unfreeze_blocks = -1).")
        self.config = config
        self.log = log
        self.progress = progress
        self.out = Path(config.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.device = resolve_device(config.device)
        self.use_amp = config.amp == "on" or (config.amp == "auto" and self.device.startswith("cuda"))
        self.amp_dtype = torch.float16 if self.device.startswith("cuda") else torch.bfloat16

        data = load_caption_data(config.data, config.images)
        if data.missing_images:
            log(f"Note: {len(data.missing_images)} image(s) listed in {config.data} were not found and are "
                f"left out (first: {data.missing_images[0]}).")
        self.train_records = data.split("train")
        self.val_records = data.split("val")
        if not self.train_records:
            raise UserFacingError(_("{data} has no training images.").format(data=config.data))
        if not self.val_records:
            raise UserFacingError(_("{data} has no validation images (split 'val').").format(data=config.data))
        if config.max_val_images:
            self.val_records = self.val_records[: config.max_val_images]

        checkpoint = load_checkpoint(self.out / "last.pt") if resume else None
        if checkpoint is None:
            seed_everything(config.seed)
            self.vocab = Vocabulary.build((c for r in self.train_records for c in r.captions), config.min_word_count)
        else:
            self.vocab = Vocabulary.from_dict(checkpoint["vocab"])
        self.preprocess = Preprocessing(config.image_size, IMAGENET_MEAN, IMAGENET_STD)
        self.model = CaptionModel(
            config.model, len(self.vocab), start_id=self.vocab.start_id, end_id=self.vocab.end_id,
            pretrained=config.pretrained and checkpoint is None,
        )
        self.optimizer = torch.optim.Adam(
            [{"params": list(self.model.decoder.parameters()), "lr": config.decoder_lr, "name": "decoder"}]
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp and self.device.startswith("cuda"))
        self.start_epoch = 1
        self.best_score, self.best_epoch = -1.0, 0
        self.history: list[dict[str, Any]] = []
        if checkpoint is not None:
            self._restore(checkpoint)
        self.model.to(self.device)
        self.pairs = CaptionPairs(self.train_records, self.vocab, self.preprocess, config.max_caption_words,
                                  cache=config.cache_images)

    # ---- transfer-learning stages ----

    def unfreeze_due(self, epoch: int) -> bool:
        """Whether the encoder's top blocks train during `epoch` (1-based)."""
        return self.config.unfreeze_epoch is not None and epoch >= self.config.unfreeze_epoch

    def unfreeze_encoder(self) -> None:
        """Unfreeze exactly the top `unfreeze_blocks` blocks; they get their own parameter group."""
        if any(group.get("name") == "encoder" for group in self.optimizer.param_groups):
            return
        self.model.encoder.set_trainable(self.config.unfreeze_blocks)
        params = [p for block in self.model.encoder.trainable_blocks() for p in block.parameters()]
        self.optimizer.add_param_group({"params": params, "lr": self.config.encoder_lr, "name": "encoder"})

    # ---- checkpoints ----

    def _restore(self, checkpoint: dict[str, Any]) -> None:
        epoch = int(checkpoint["epoch"])
        self.model.encoder.load_state_dict(checkpoint["encoder"])
        self.model.decoder.load_state_dict(checkpoint["decoder"])
        if self.unfreeze_due(epoch):  # the saved optimizer already has the encoder group
            self.unfreeze_encoder()
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        if checkpoint.get("scaler"):
            self.scaler.load_state_dict(checkpoint["scaler"])
        self.start_epoch = epoch + 1
        self.best_score = float(checkpoint["best_score"])
        self.best_epoch = int(checkpoint["best_epoch"])
        self.history = list(checkpoint.get("history", []))
        set_rng_state(checkpoint["rng"])

    def checkpoint(self, epoch: int) -> dict[str, Any]:
        return {
            "epoch": epoch,
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "history": self.history,
            "model_config": self.config.model.to_dict(),
            "train_config": self.config.to_dict(),
            "vocab": self.vocab.to_dict(),
            "preprocessing": self.preprocess.to_dict(),
            "encoder": self.model.encoder.state_dict(),
            "decoder": self.model.decoder.state_dict(),
            "encoder_trainable_blocks": self.model.encoder.n_trainable,
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "rng": rng_state(),
        }

    # ---- one epoch ----

    def loader(self, epoch: int) -> torch.utils.data.DataLoader:
        # The order of epoch e depends only on (seed, e): the same with or without a resume.
        generator = torch.Generator().manual_seed(self.config.seed * 100_003 + epoch)
        return torch.utils.data.DataLoader(
            self.pairs, batch_size=self.config.batch_size, shuffle=True, generator=generator,
            collate_fn=collate_pairs, num_workers=self.config.num_workers,
            persistent_workers=False, pin_memory=self.device.startswith("cuda"),
        )

    def loss(self, images: torch.Tensor, captions: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of each next word (teacher forcing) + alpha_c * sum_p (1 - sum_t alpha_tp)^2."""
        inputs, targets = captions[:, :-1], captions[:, 1:]  # (B, T): <start> w.. -> w.. <end>
        logits, alphas = self.model(images, inputs)  # (B, T, V), (B, T, P)
        ce = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1),
                             ignore_index=self.vocab.pad_id)
        mask = (targets != self.vocab.pad_id).unsqueeze(2).to(alphas.dtype)  # (B, T, 1)
        attention_total = (alphas * mask).sum(dim=1)  # (B, P): how much each pixel was looked at
        regulariser = ((1.0 - attention_total.float()) ** 2).mean()
        return ce + self.config.alpha_c * regulariser

    def train_epoch(self, epoch: int) -> tuple[float, float]:
        from tqdm import tqdm

        self.model.train()
        total, count, seen = 0.0, 0, 0
        started = time.perf_counter()
        batches = tqdm(self.loader(epoch), desc=f"epoch {epoch}/{self.config.epochs}", unit="batch",
                       disable=not self.progress, leave=False)
        for images, captions in batches:
            images, captions = images.to(self.device), captions.to(self.device)
            with torch.autocast(device_type=self.device.split(":")[0], dtype=self.amp_dtype, enabled=self.use_amp):
                loss = self.loss(images, captions)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(
                [p for group in self.optimizer.param_groups for p in group["params"]], self.config.grad_clip
            )
            self.scaler.step(self.optimizer)
            self.scaler.update()
            total += loss.item() * images.size(0)
            count += images.size(0)
            seen += images.size(0)
            batches.set_postfix(loss=f"{total / count:.3f}")
        return total / max(count, 1), seen / max(time.perf_counter() - started, 1e-9)

    def validate(self) -> tuple[float, float, dict[str, str]]:
        """BLEU-4 and CIDEr-D of beam-search captions on the validation images."""
        hypotheses = caption_records(self.model, self.vocab, self.preprocess, self.val_records,
                                     beam=self.config.beam, device=self.device)
        references = {r.key: list(r.captions) for r in self.val_records}
        bleu4 = bleu(references, hypotheses)[3]
        cider, _scores = cider_d(references, hypotheses)
        return bleu4, cider, hypotheses

    # ---- the run ----

    def run_epoch(self, epoch: int) -> EpochReport:
        """Train one epoch (unfreezing first when it is due), validate, save last.pt (and best.pt)."""
        if self.unfreeze_due(epoch) and self.model.encoder.n_trainable == 0:
            self.unfreeze_encoder()
            self.log(f"Epoch {epoch}: the top {self.model.encoder.n_trainable} encoder block(s) now train "
                     f"(learning rate {self.config.encoder_lr:g}).")
        started = time.perf_counter()
        loss, speed = self.train_epoch(epoch)
        bleu4, cider, _loss = self.validate()
        score = bleu4 if self.config.best_metric == "bleu4" else cider
        improved = score > self.best_score
        if improved:
            self.best_score, self.best_epoch = score, epoch
        report = EpochReport(epoch, loss, bleu4, cider, time.perf_counter() - started, speed,
                             self.model.encoder.n_trainable, improved)
        self.history.append(dict(report.__dict__))
        checkpoint = self.checkpoint(epoch)
        save_checkpoint(self.out / "last.pt", checkpoint)
        if improved:
            save_checkpoint(self.out / "best.pt", checkpoint)
        (self.out / "history.json").write_text(json.dumps(self.history, indent=2) + "\n", encoding="utf-8")
        self.log(f"epoch {epoch}/{self.config.epochs}  loss {loss:.3f}  val BLEU-4 {bleu4:.3f}  "
                 f"CIDEr-D {cider:.3f}  {speed:.1f} images/s" + ("  (best so far: saved best.pt)" if improved else ""))
        self.start_epoch = epoch + 1
        return report

    def run(self) -> TrainResult:
        self.config.save(self.out / "config.json")
        if self.start_epoch > self.config.epochs:
            self.log(f"Nothing to do: the run in {self.out} already finished epoch {self.start_epoch - 1}.")
        for epoch in range(self.start_epoch, self.config.epochs + 1):
            self.run_epoch(epoch)
        return TrainResult(self.out, self.best_epoch, self.best_score, self.history)


def caption_records(model: CaptionModel, vocab: Vocabulary, preprocess: Preprocessing, records: list[ImageRecord],
                    *, beam: int, device: str, batch_size: int = 32) -> dict[str, str]:
    """Captions (through the app's own SeedCaptioner path) for each record key."""
    from describe_aloud.engine.training.captioner import SeedCaptioner

    captioner = SeedCaptioner(model, vocab, preprocess, beam_size=beam, device=device, batch_size=batch_size)
    out = {}
    for start in range(0, len(records), batch_size):
        chunk = records[start : start + batch_size]
        results = captioner.caption([load_image(str(r.path)) for r in chunk])
        out.update({r.key: result.caption for r, result in zip(chunk, results)})
    return out


def train(config: TrainConfig, *, resume: bool = False, log: Callable[[str], None] = print,
          progress: bool = True) -> TrainResult:
    """Train (or resume) a run. Refuses to start over a run folder that already holds a checkpoint."""
    out = Path(config.out)
    if not resume and (out / "last.pt").exists():
        raise UserFacingError(_("{out} already holds a training run. Continue it with --resume, or choose another --out "
                                "folder (nothing was overwritten).").format(out=out))
    if resume and not (out / "last.pt").exists():
        raise UserFacingError(_("There is no run to resume in {out} (no last.pt).").format(out=out))
    return Trainer(config, resume=resume, log=log, progress=progress).run()
