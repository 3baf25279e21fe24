"""Scoring any captioner of the registry (pretrained Hugging Face models and seed checkpoints alike) on a
caption file: BLEU-1..4, METEOR, ROUGE-L, CIDEr-D, with the per-image captions.

Runs in the calling thread (a CLI command); loading the model and captioning can take minutes.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from describe_aloud.engine.captioners.base import Captioner
from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.i18n import _
from describe_aloud.engine.training.dataset import load_caption_data
from describe_aloud.engine.training.metrics import METRIC_NAMES, Scores, score_captions


@dataclass
class EvaluationResult:
    model: str
    data: str
    split: str
    captions: dict[str, str]  # image key -> the model's caption
    references: dict[str, list[str]]
    scores: Scores
    seconds: float
    skipped: dict[str, str] = field(default_factory=dict)  # image key -> why it was not scored

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "data": self.data,
            "split": self.split,
            "n_images": len(self.captions),
            "metrics": self.scores.corpus,
            "notes": self.scores.notes,
            "seconds": round(self.seconds, 3),
            "skipped": self.skipped,
            "images": [
                {"image": key, "caption": caption, "references": self.references[key],
                 "scores": self.scores.per_image.get(key, {})}
                for key, caption in self.captions.items()
            ],
        }


def set_beam_size(captioner: Captioner, beam: int) -> bool:
    """Ask a captioner to decode with `beam` beams; False when its backend decides that itself."""
    if captioner.beam_size is None:
        return False
    captioner.beam_size = beam
    return True


def evaluate(
    model: str,
    data: str | Path,
    images: str | Path,
    *,
    split: str | None = None,
    beam: int | None = None,
    batch_size: int = 8,
    max_images: int | None = None,
    precision: str = "auto",
    device: str = "auto",
    with_meteor: bool = True,
    log: Callable[[str], None] = print,
    progress: bool = True,
) -> EvaluationResult:
    """Caption the images of `split` (default: 'test' when the file has splits, else all images) with the
    captioner `model` (catalog name, Hugging Face id, model folder or seed checkpoint) and score them."""
    from tqdm import tqdm

    from describe_aloud.engine.captioners import load_captioner
    from describe_aloud.engine.training.preprocessing import load_image

    caption_data = load_caption_data(data, images)
    if split is None:
        split = "test" if caption_data.has_splits else "all"
    records = caption_data.split(split)
    if max_images:
        records = records[:max_images]
    if not records:
        raise UserFacingError(_("The caption file {data} has no images in the split {split!r}.").format(data=data, split=split))
    captioner = load_captioner(model, precision=precision, device=device, local_files_only=True)
    if beam is not None and not set_beam_size(captioner, beam):
        log(f"Note: {model} has no beam-size setting; it decodes its own way (--beam ignored).")

    started = time.perf_counter()
    captions: dict[str, str] = {}
    skipped: dict[str, str] = {}
    bar = tqdm(total=len(records), desc="captioning", unit="image", disable=not progress, leave=False)
    for start in range(0, len(records), batch_size):
        chunk, pictures = [], []
        for record in records[start : start + batch_size]:
            try:
                pictures.append(load_image(str(record.path)))
                chunk.append(record)
            except OSError as exc:  # a bad file: say so, score the rest
                skipped[record.key] = f"could not be read: {exc}"
        if pictures:
            for record, result in zip(chunk, captioner.caption(pictures)):
                captions[record.key] = result.caption
        bar.update(len(records[start : start + batch_size]))
    bar.close()
    if not captions:
        raise UserFacingError(_("None of the images could be read, so nothing was scored."))
    references = {key: list(r.captions) for r in records for key in [r.key] if key in captions}
    scores = score_captions(references, captions, with_meteor=with_meteor)
    return EvaluationResult(model, str(data), split, captions, references, scores,
                            time.perf_counter() - started, skipped)


def format_table(result: EvaluationResult) -> str:
    """A plain-text table (reads well with a screen reader too: one metric per line)."""
    lines = [f"Model: {result.model}", f"Data: {result.data} (split {result.split}, {len(result.captions)} images)"]
    for name in METRIC_NAMES:
        value = result.scores.corpus.get(name)
        lines.append(f"  {name:<8} {'not computed' if value is None else f'{value:.4f}'}")
    lines += [f"Note: {note}" for note in result.scores.notes]
    if result.skipped:
        lines.append(f"Note: {len(result.skipped)} image(s) could not be read and were not scored.")
    return "\n".join(lines)


def write_json(result: EvaluationResult, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
