"""Reading a dense screen in two steps: the first lines are handed over while the rest is still recognised.

rapidocr reads in three steps: detection finds every text box, the classifier turns upside-down boxes round,
the recogniser reads each box's crop. On a screen with many lines recognition is most of the time, so here
detection runs once, the boxes are put in reading order by their geometry (engine.reading.order), the first
ones (up to one recogniser batch) are classified and recognised and handed over (`on_first`), then the rest.

The same text as rapidocr's one-step read, by construction: the recogniser pads every crop of a batch to
the widest one's aspect ratio, and that width changes what it reads (measured: batching the first block on
its own changed 10 of 1158 lines of the reading corpus). So each crop is recognised padded to exactly the
width rapidocr's own batching gives it (crops sorted by aspect ratio, batches of `rec_batch_num`), only in
another batch. Measured on the reading corpus and the real screens (1158 crops, OpenVINO and onnxruntime):
identical text and identical scores, batched that way, alone or with others. tests/engine/test_ocr_two_step.py
checks it on real screens.

Screens with few boxes (MIN_BOXES or fewer: two batches, read soon anyway) are read exactly as rapidocr
reads them, in one step. So is anything this module does not know how to split (word boxes, a right-to-left
language, another rapidocr whose steps look different): `two_steps_supported`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from describe_aloud.engine.reading.order import Piece, reading_order

# Boxes in the first block: one recogniser batch (rapidocr's rec_batch_num is 6).
FIRST_BLOCK_BOXES = 6
# More boxes than this and the first block is handed over early; fewer are read in one step, as before.
MIN_BOXES = 12
_STEPS = ("load_img", "preprocess_img", "detect_and_crop", "cls_and_rotate", "build_final_output")


@dataclass
class FirstBlock:
    """What is known when the first block is read: its rapidocr output (boxes in the image's pixels, as a
    one-step read gives them) and the boxes (quads) of the text not recognised yet."""

    result: Any
    pending: np.ndarray


def two_steps_supported(ocr: Any) -> bool:
    """Whether `ocr` (a rapidocr 3 RapidOCR, models loaded) has the steps this module calls, and reads
    lines that can be split: no word boxes, not right to left (rapidocr reorders those after recognising)."""
    rec: Any = getattr(ocr, "text_rec", None)
    if rec is None and hasattr(ocr, "_load_rec_model"):
        rec = ocr._load_rec_model()
    needed = ("resize_norm_img", "session", "postprocess_op", "rec_batch_num", "rec_image_shape", "cfg")
    return (all(callable(getattr(ocr, step, None)) for step in _STEPS)
            and bool(getattr(ocr, "use_det", False)) and bool(getattr(ocr, "use_rec", False))
            and not getattr(ocr, "return_word_box", True)
            and all(hasattr(rec, name) for name in needed)
            and "arab" not in str(getattr(rec.cfg, "lang_type", "")).lower())


def read_in_two_steps(ocr: Any, bgr: np.ndarray, on_first: Callable[[FirstBlock], None]) -> Any:
    """What `ocr(bgr)` returns; on a screen with more than MIN_BOXES text boxes, `on_first` gets the first
    block before the rest is recognised."""
    from rapidocr.ch_ppocr_cls import TextClsOutput
    from rapidocr.ch_ppocr_det import TextDetOutput
    from rapidocr.main import RapidOCRError
    from rapidocr.utils.output import RapidOCROutput
    from rapidocr.utils.process_img import map_boxes_to_original

    ori = ocr.load_img(bgr)
    img, op_record = ocr.preprocess_img(ori)
    try:
        crops, det = ocr.detect_and_crop(img, op_record)
    except RapidOCRError:  # no text found: what the one-step read returns then
        return RapidOCROutput()
    count = len(crops)
    if count <= MIN_BOXES:  # few lines: exactly rapidocr's own steps (RapidOCR.run_ocr_steps)
        cls_out = ocr.cls_and_rotate(crops)[1] if ocr.use_cls else TextClsOutput(img_list=crops)
        rec_out = ocr.recognize_txt(cls_out.img_list)
        return ocr.build_final_output(ori, det, cls_out if ocr.use_cls else TextClsOutput(), rec_out, crops,
                                      op_record)
    widths = _batch_widths(ocr.text_rec, crops)
    first = _first_block(det.boxes)
    rest = sorted(set(range(count)) - set(first))
    turned: list[Any] = [None] * count
    cls_res: list[Any] = [None] * count
    read: list[tuple[str, float]] = [("", 0.0)] * count
    for step, indices in enumerate((first, rest)):
        if not indices:
            continue
        part = [crops[i] for i in indices]
        if ocr.use_cls:
            part, cls = ocr.cls_and_rotate(part)
            for i, c in zip(indices, cls.cls_res):
                cls_res[i] = c
        for i, image, line in zip(indices, part, _recognise(ocr.text_rec, part, [widths[i] for i in indices])):
            turned[i], read[i] = image, line
        if step == 0 and rest:
            sub = TextDetOutput(img=det.img, boxes=det.boxes[first].copy(), scores=[det.scores[i] for i in first])
            result = ocr.build_final_output(ori, sub, TextClsOutput(), _rec_output(first, turned, read),
                                            [crops[i] for i in first], op_record)
            h, w = ori.shape[:2]
            on_first(FirstBlock(result, map_boxes_to_original(det.boxes[rest].copy(), op_record, h, w)))
    everything = list(range(count))
    cls_out = TextClsOutput(img_list=turned, cls_res=cls_res) if ocr.use_cls else TextClsOutput()
    return ocr.build_final_output(ori, det, cls_out, _rec_output(everything, turned, read), crops, op_record)


def _rec_output(indices: list[int], images: list[Any], read: list[tuple[str, float]]) -> Any:
    from rapidocr.ch_ppocr_rec import TextRecOutput

    fields: dict[str, Any] = {  # as TextRecognizer returns them (its type hints are narrower than its values)
        "imgs": [images[i] for i in indices], "txts": tuple(read[i][0] for i in indices),
        "scores": tuple(read[i][1] for i in indices), "word_results": tuple(None for _ in indices), "elapse": 0.0}
    return TextRecOutput(**fields)


def _batch_widths(rec: Any, crops: list[np.ndarray]) -> list[float]:
    """The aspect ratio each crop is padded to in rapidocr's own batching (TextRecognizer.__call__: crops
    sorted by aspect ratio, batches of rec_batch_num, each padded to its widest, at least the model's own)."""
    _, height, width = rec.rec_image_shape[:3]
    ratios = [c.shape[1] / float(c.shape[0]) for c in crops]
    order = np.argsort(np.array(ratios))
    padded = [0.0] * len(crops)
    for start in range(0, len(crops), rec.rec_batch_num):
        batch = [int(i) for i in order[start:start + rec.rec_batch_num]]
        widest = max([width / height] + [ratios[i] for i in batch])
        for i in batch:
            padded[i] = widest
    return padded


def _recognise(rec: Any, crops: list[np.ndarray], widths: list[float]) -> list[tuple[str, float]]:
    """(text, score) of each crop, each padded to its width; crops of one width go in one batch."""
    out: list[tuple[str, float]] = [("", 0.0)] * len(crops)
    groups: dict[float, list[int]] = {}
    for i, width in enumerate(widths):
        groups.setdefault(width, []).append(i)
    for width, members in groups.items():
        for start in range(0, len(members), rec.rec_batch_num):
            batch = members[start:start + rec.rec_batch_num]
            inputs = np.concatenate([rec.resize_norm_img(crops[i], width)[np.newaxis] for i in batch]).astype(np.float32)
            lines, _ = rec.postprocess_op(rec.session(inputs), False, wh_ratio_list=[1.0] * len(batch),
                                          max_wh_ratio=width)
            for i, line in zip(batch, lines):
                out[i] = (line[0], float(line[1]))
    return out


def _first_block(boxes: np.ndarray) -> list[int]:
    """Indices of the boxes read first: whole lines in reading order (by geometry alone: the text is not
    read yet), up to FIRST_BLOCK_BOXES boxes, at least the first line."""
    pieces = [Piece.from_quad(_name(i), quad, 1.0) for i, quad in enumerate(boxes)]
    chosen: list[int] = []
    for line in reading_order(pieces):
        ids = [_index(word) for word in line.text.split()]
        if chosen and len(chosen) + len(ids) > FIRST_BLOCK_BOXES:
            break
        chosen += ids
    return sorted(chosen)


# Boxes are named with letters ("xab"), not digits: the reading order's table rule counts numbers.
def _name(i: int) -> str:
    letters = ""
    while True:
        i, r = divmod(i, 26)
        letters = chr(ord("a") + r) + letters
        if i == 0:
            return "x" + letters


def _index(name: str) -> int:
    value = 0
    for ch in name[1:]:
        value = value * 26 + ord(ch) - ord("a")
    return value
