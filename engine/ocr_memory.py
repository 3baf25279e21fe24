"""The working memory the OCR's inference engine keeps between reads, given back in a quiet spell.

Why: OpenVINO's CPU plugin keeps the intermediate buffers of the largest input each model has run, for the
next run: with rapidocr's models on a 1280x720 screen, ~130-160 MB for the detector (a 1312x736 input) and
20-100 MB for the recogniser (it grows with the widest batch of lines read so far). onnxruntime (rapidocr
builds it without a memory arena) frees them after every run, which is most of why the app took ~0.3 GB more
with OpenVINO than with onnxruntime (docs/benchmarks.md, "Memory"). No OpenVINO property changes it
(measured: CPU_RUNTIME_CACHE_CAPACITY, NUM_STREAMS, CPU pinning, dynamic quantization, input upper bounds;
f32 instead of the default bf16 takes 100 MB more and is slower); `CompiledModel.release_memory()` frees them
(then `malloc_trim` hands the pages back). The next read allocates them again and faults their pages in:
that costs time, so the app does it only after a quiet spell (gui/worker.py), never between requests.
"""
from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

# Where rapidocr 3 keeps its three models, and in each its engine wrapper's inference request.
_PARTS = ("text_det", "text_cls", "text_rec")


def release_engine_memory(ocr: Any) -> int:
    """Free the buffers OpenVINO keeps between the reads of `ocr` (a RapidOCR). Returns how many models gave
    theirs back: 0 on onnxruntime (it keeps none) or with a rapidocr whose parts look different. The caller
    makes sure no read runs at the same time."""
    released = 0
    for part in _PARTS:
        wrapper = getattr(getattr(ocr, part, None), "session", None)  # rapidocr's OpenVINOInferSession
        compiled_model = getattr(getattr(wrapper, "session", None), "get_compiled_model", None)
        if not callable(compiled_model):
            continue  # onnxruntime's session, or a part not loaded (the classifier when it is off)
        try:
            compiled_model().release_memory()
        except Exception:  # noqa: BLE001 - only a saving: the models keep working without it
            log.debug("OpenVINO could not release the %s model's memory", part, exc_info=True)
            continue
        released += 1
    return released


__all__ = ["release_engine_memory"]
