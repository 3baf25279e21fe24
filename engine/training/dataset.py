"""Caption data sets: a COCO-style captions file or a Karpathy split file (COCO, Flickr8k, Flickr30k).

COCO-style (e.g. `captions_train2017.json`)::

    {"images": [{"id": 1, "file_name": "a.jpg", "split": "train"?}, ...],
     "annotations": [{"image_id": 1, "caption": "A dog runs."}, ...]}

The `split` key on an image is optional (not part of COCO): without it, a stable ~5% of the images
(by file name) are held out for validation when training, and `evaluate` scores every image.

Karpathy split (`dataset_coco.json`, `dataset_flickr8k.json`, `dataset_flickr30k.json`)::

    {"dataset": "coco", "images": [{"filepath": "val2014"?, "filename": "x.jpg", "split": "train|restval|val|test",
                                    "sentences": [{"raw": "A dog runs.", "tokens": [...]}, ...]}, ...]}

`restval` counts as training data. Image paths are relative to the `--images` folder (with the Karpathy
`filepath` sub-folder when that exists).
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.i18n import _

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class ImageRecord:
    key: str  # the file name as written in the caption file (unique per image)
    path: Path
    captions: tuple[str, ...]
    split: str | None  # train / val / test, or None when the file does not say


@dataclass
class CaptionData:
    records: list[ImageRecord]
    format: str  # "coco" or "karpathy"
    missing_images: list[str]

    @property
    def has_splits(self) -> bool:
        return any(r.split is not None for r in self.records)

    def split(self, name: str | None) -> list[ImageRecord]:
        """The images of a split; None: all images. Without split marks in the file, 'val' is a stable
        ~5% of the images (at least one), 'train' the rest and 'test' the same as 'val'."""
        if name is None or name == "all":
            return list(self.records)
        if name not in SPLITS:
            raise UserFacingError(_("Unknown split {name!r}: choose train, val, test or all.").format(name=name))
        if self.has_splits:
            return [r for r in self.records if r.split == name]
        held_out = [r for r in self.records if _stable_fraction(r.key) < 0.05]
        if not held_out and len(self.records) > 1:
            held_out = [min(self.records, key=lambda r: _stable_fraction(r.key))]
        if name == "train":
            keys = {r.key for r in held_out}
            return [r for r in self.records if r.key not in keys]
        return held_out


def _stable_fraction(key: str) -> float:
    return zlib.crc32(key.encode("utf-8")) / 2**32


def load_caption_data(data_file: str | Path, images_dir: str | Path) -> CaptionData:
    """Read a caption file; images that are not on disk are left out and listed in `missing_images`."""
    data_file, images_dir = Path(data_file), Path(images_dir)
    try:
        raw = json.loads(data_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserFacingError(_("Cannot read the caption file {data_file}: {value}.").format(data_file=data_file, value=exc.strerror or exc)) from exc
    except ValueError as exc:
        raise UserFacingError(_("The caption file {data_file} is not valid JSON: {reason}.").format(data_file=data_file, reason=exc)) from exc
    if not images_dir.is_dir():
        raise UserFacingError(_("The image folder {images_dir} does not exist.").format(images_dir=images_dir))
    if isinstance(raw, dict) and "annotations" in raw and "images" in raw:
        records, fmt = _coco_records(raw, images_dir), "coco"
    elif isinstance(raw, dict) and isinstance(raw.get("images"), list) and all(
        isinstance(i, dict) and "sentences" in i for i in raw["images"]
    ):
        records, fmt = _karpathy_records(raw, images_dir), "karpathy"
    else:
        raise UserFacingError(
            _("{data_file} is neither a COCO-style caption file (keys 'images' and 'annotations') nor a "
              "Karpathy split file (images with 'sentences').").format(data_file=data_file)
        )
    present = [r for r in records if r.path.is_file() and r.captions]
    missing = [r.key for r in records if not r.path.is_file()]
    if not present:
        raise UserFacingError(_("None of the images listed in {data_file} were found in {images_dir}.").format(data_file=data_file, images_dir=images_dir))
    return CaptionData(present, fmt, missing)


def _split_name(value: Any) -> str | None:
    if value is None:
        return None
    value = str(value)
    return "train" if value == "restval" else value


def _coco_records(raw: dict[str, Any], images_dir: Path) -> list[ImageRecord]:
    captions: dict[Any, list[str]] = {}
    for ann in raw["annotations"]:
        captions.setdefault(ann["image_id"], []).append(str(ann["caption"]).strip())
    return [
        ImageRecord(str(img["file_name"]), images_dir / img["file_name"], tuple(captions.get(img["id"], ())),
                    _split_name(img.get("split")))
        for img in raw["images"]
    ]


def _karpathy_records(raw: dict[str, Any], images_dir: Path) -> list[ImageRecord]:
    records = []
    for img in raw["images"]:
        name = str(img["filename"])
        path = images_dir / name
        if img.get("filepath") and (images_dir / img["filepath"] / name).is_file():
            path = images_dir / img["filepath"] / name
        key = f"{img['filepath']}/{name}" if img.get("filepath") else name
        sentences = tuple(
            str(s.get("raw") or " ".join(s.get("tokens", []))).strip() for s in img["sentences"]
        )
        records.append(ImageRecord(key, path, sentences, _split_name(img.get("split"))))
    return records


# ---- torch data sets ---------------------------------------------------------------------------------

class CaptionPairs:
    """Training samples: one (image tensor (3, S, S), caption ids) per caption of each image.

    Images are read and preprocessed with the checkpoint's `Preprocessing`, optionally cached in memory.
    """

    def __init__(self, records: Sequence[ImageRecord], vocab, preprocess, max_words: int, cache: bool = False) -> None:
        self.records = list(records)
        self.preprocess = preprocess
        self.pairs = [(i, vocab.encode(c, max_words)) for i, r in enumerate(self.records) for c in r.captions]
        self._cache: dict[int, Any] | None = {} if cache else None

    def __len__(self) -> int:
        return len(self.pairs)

    def image(self, index: int):
        from describe_aloud.engine.training.preprocessing import load_image

        if self._cache is not None and index in self._cache:
            return self._cache[index]
        try:
            tensor = self.preprocess(load_image(str(self.records[index].path)))
        except OSError as exc:
            raise UserFacingError(_("Cannot read the image {path}: {reason}.").format(path=self.records[index].path, reason=exc)) from exc
        if self._cache is not None:
            self._cache[index] = tensor
        return tensor

    def __getitem__(self, i: int):
        image_index, ids = self.pairs[i]
        return self.image(image_index), ids


def collate_pairs(batch):
    """[(image, ids)] -> images (B, 3, S, S), padded captions (B, T) with 0 = <pad>."""
    import torch

    images = torch.stack([image for image, _ids in batch])
    longest = max(len(ids) for _caption, ids in batch)
    captions = torch.zeros(len(batch), longest, dtype=torch.long)
    for row, (_image, ids) in enumerate(batch):
        captions[row, : len(ids)] = torch.tensor(ids)
    return images, captions
