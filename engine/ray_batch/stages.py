"""The three stages that run on Ray workers: read + decode (tasks), read the text (OCR actors), describe
(model actors). Each takes and returns a pyarrow table with one row per image; a bad image never raises,
it becomes a row with `error` set and ends as an error record, as in local batch.

The records are the ones local batch writes (engine.outputs.row_for of the same engine.journal.Entry),
built from the same decoding (engine.batch_inputs.load_for_batch) and the same
Describer.describe_batch; the OCR stage's text is handed to the describe stage's Describer through its
`ocr=` engine, so the kind and the alt text are decided exactly as locally.

Threading: Ray runs one call at a time per actor (the Describer is owned by that actor's one thread).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)

COLUMNS_READ = ("shard", "rel", "pixels", "width", "height", "orig_width", "orig_height", "error")


def _table(columns: dict[str, list]):
    import pyarrow as pa

    return pa.table(columns)


def _image(row: dict[str, Any]):
    from PIL import Image

    return Image.frombytes("RGB", (row["width"], row["height"]), row["pixels"])


def _load_local(source: str, rel: str, max_side: int):
    """engine.batch_inputs.load_for_batch, with the folder chosen so that its messages name `rel` as locally."""
    from describe_aloud.engine.batch_inputs import load_for_batch

    root = source[: -len(rel)] if rel and source.endswith(rel) else ""
    loaded = load_for_batch(Path(root), rel if root else source, None, max_side, False)
    return loaded.image, loaded.size, loaded.error


def _load_remote(source: str, rel: str, max_side: int):
    """A file on a pyarrow filesystem (s3://, gs://, hdfs://...): its bytes, decoded by
    engine.images.image_from_bytes, whose errors name the file as locally."""
    from PIL import Image
    from pyarrow import fs as pafs

    from describe_aloud.engine.errors import ImageLoadError
    from describe_aloud.engine.images import image_from_bytes

    try:
        filesystem, path = pafs.FileSystem.from_uri(source)
        with filesystem.open_input_stream(path) as stream:
            data = stream.read()
        image = image_from_bytes(data, rel)
    except ImageLoadError as exc:
        return None, (0, 0), str(exc)
    except OSError as exc:
        return None, (0, 0), f"{rel} cannot be read: {exc}."
    except Exception as exc:  # noqa: BLE001 - one odd file must not stop the run
        return None, (0, 0), f"{rel} could not be read ({type(exc).__name__}: {exc})."
    size = image.size
    if max(size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.BICUBIC, reducing_gap=2.0)
    return image, size, None


def read_and_decode(batch, max_side: int):
    """Ray Data task: (shard, rel, source) rows -> decoded, shrunk RGB pixels (or the reason why not)."""
    out: dict[str, list] = {name: [] for name in COLUMNS_READ}
    for row in batch.to_pylist():
        source, rel = row["source"], row["rel"]
        loader = _load_remote if "://" in source else _load_local
        image, size, error = loader(source, rel, max_side)
        out["shard"].append(row["shard"])
        out["rel"].append(rel)
        out["pixels"].append(image.tobytes() if image is not None else b"")
        out["width"].append(image.width if image is not None else 0)
        out["height"].append(image.height if image is not None else 0)
        out["orig_width"].append(int(size[0]))
        out["orig_height"].append(int(size[1]))
        out["error"].append(error)
    return _table(out)


class ReadText:
    """Ray Data actor: the OCR models load once; adds `text` (the lines as JSON) to each good row."""

    def __init__(self, threads: int | None = None) -> None:
        from describe_aloud.engine.describer import Describer
        from describe_aloud.engine.ocr import OcrEngine

        self.describer = Describer(None, ocr=OcrEngine(threads=threads), use_ocr=True)

    def __call__(self, batch):
        import pyarrow as pa

        rows = batch.to_pylist()
        good = [i for i, row in enumerate(rows) if not row["error"]]
        texts: list[str | None] = [None] * len(rows)
        if good:
            found = self.describer.describe_batch([_image(rows[i]) for i in good])
            for i, d in zip(good, found):
                texts[i] = json.dumps({
                    "lines": [[t.text, list(t.box), t.confidence] for t in d.text_lines],
                    "error": d.ocr_error,
                })
        return batch.append_column("text", pa.array(texts, pa.string()))


class _GivenText:
    """The OCR engine of the describe stage: it hands back what the OCR stage read for each image object."""

    def __init__(self) -> None:
        self.lines: dict[int, list] = {}

    def read(self, image) -> list:
        return self.lines.get(id(image), [])

    def warm_up(self) -> None:
        pass


class Describe:
    """Ray Data actor: loads the captioner once, then turns rows into records (one JSON object each).

    `captioner_factory` (a picklable callable returning a captioner) replaces loading `model` by name;
    the bench uses it to caption with a fixed number of tokens, as bench/bench_batch.py does locally."""

    def __init__(self, model: str | None, *, precision: str = "auto", device: str = "auto",
                 detail: bool = False, use_ocr: bool = True, threads: int | None = None,
                 captioner_factory: Callable[[], Any] | None = None) -> None:
        from describe_aloud.engine.describer import Describer

        if threads:
            import torch

            # Ray sets OMP_NUM_THREADS from the actor's CPUs (rounded down); the model may use them all.
            torch.set_num_threads(threads)
        if captioner_factory is not None:
            captioner = captioner_factory()
        else:
            from describe_aloud.engine.captioners import load_captioner

            captioner = load_captioner(model, precision=precision, device=device)
        self.detail = detail
        self.given = _GivenText() if use_ocr else None
        self.describer = Describer(captioner, ocr=self.given, use_ocr=use_ocr)  # type: ignore[arg-type]
        self.model_id = self.describer.model_id
        try:
            import ray

            self.node = ray.get_runtime_context().get_node_id()[:8]  # where the work was done, for the summary
        except Exception:  # noqa: BLE001 - outside Ray (called directly)
            self.node = ""

    def __call__(self, batch):
        from describe_aloud.engine.description import TextLine

        rows = batch.to_pylist()
        images: dict[int, Any] = {}
        ocr_errors: dict[int, str] = {}
        if self.given is not None:
            self.given.lines.clear()
        for i, row in enumerate(rows):
            if row["error"]:
                continue
            images[i] = _image(row)
            text = json.loads(row.get("text") or "null")
            if text and self.given is not None:
                self.given.lines[id(images[i])] = [TextLine(t, tuple(box), conf) for t, box, conf in text["lines"]]
                if text["error"]:
                    ocr_errors[i] = text["error"]
        records = describe_rows(rows, images, self.describer, detail=self.detail, ocr_errors=ocr_errors)
        return _table({"shard": [r["shard"] for r in rows], "rel": [r["rel"] for r in rows],
                       "record": [json.dumps(rec, ensure_ascii=False) for rec in records],
                       "node": [self.node] * len(rows)})


def describe_rows(rows: list[dict], images: dict[int, Any], describer, *, detail: bool,
                  ocr_errors: dict[int, str]) -> list[dict]:
    """The records for a batch, decided as engine.batch.BatchRunner decides them: unreadable files fail
    with their reason, a model failure on the batch is retried image by image, a missing caption fails."""
    from describe_aloud.engine.errors import UserFacingError
    from describe_aloud.engine.journal import Entry, FileKey, utc_now
    from describe_aloud.engine.outputs import row_for
    from describe_aloud.engine.render import alt_text

    model_id = describer.model_id

    def failed(rel: str, reason: str) -> dict:
        return row_for(Entry(path=rel, key=FileKey(-1, -1), status="failed", model_id=model_id, detail=detail,
                             error=reason, described_at=utc_now()))

    order = sorted(images)
    results: list[Any] = []
    if order:
        pictures = [images[i] for i in order]
        sources = [rows[i]["rel"] for i in order]
        try:
            results = describer.describe_batch(pictures, detail=detail, sources=sources)
        except Exception as exc:  # noqa: BLE001 - find the image that breaks it, keep the others
            log.warning("batch failed (%r); describing its images one by one", exc)
            results = []
            for picture, source in zip(pictures, sources):
                try:
                    results.append(describer.describe_batch([picture], detail=detail, sources=[source])[0])
                except Exception as one_exc:  # noqa: BLE001
                    results.append(one_exc)
    described = dict(zip(order, results))
    records = []
    for i, row in enumerate(rows):
        rel = row["rel"]
        if row["error"]:
            records.append(failed(rel, row["error"]))
            continue
        d = described[i]
        if isinstance(d, Exception):
            reason = str(d) if isinstance(d, UserFacingError) else f"{type(d).__name__}: {d}"
            records.append(failed(rel, f"{rel} could not be described ({reason})."))
            continue
        if i in ocr_errors:
            d.ocr_error = ocr_errors[i]
        if d.caption_error and d.caption is None and d.kind.value != "blank":
            records.append(failed(rel, d.caption_error))
            continue
        d.width, d.height = row["orig_width"], row["orig_height"]  # the original's size, as locally
        records.append(row_for(Entry(path=rel, key=FileKey(0, 0), status="done", model_id=model_id, detail=detail,
                                     description=d.to_dict(), alt_text=alt_text(d), described_at=utc_now())))
    return records
