"""Give memory that the program has freed back to the system (Linux with glibc only).

Why: glibc's malloc keeps freed memory inside the process for later allocations. Loading a captioner frees
a lot at once (the plain bf16 weights once they are packed for oneDNN, transformers' loading buffers), and
so does each description (the image tensors, the OCR's cut-out lines); the freed pages stay counted as the
app's resident memory until glibc hands them back, which it does only for the top of its main heap.
`malloc_trim(0)` returns every free page of every arena. Measured on the default captioner (GIT-base, bf16
packed): -80 MB right after the load, -90 MB after three descriptions (docs/benchmarks.md, "Memory").
It takes ~10 ms, so it runs after a load and after 20 s without a request (gui/worker.py), never on a
request's way: the next request faults given-back pages in again (after every request: +0.1 s hotkey p95). Nothing a model computes depends on it: only pages no object uses are given back.

Elsewhere (Windows, macOS, musl) it does nothing: their allocators return memory their own way.
`DESCRIBE_ALOUD_MEMORY_TRIM=0` turns it off (the bench measures with and without).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import sys
from collections.abc import Iterable
from typing import Any

from describe_aloud.engine import environment

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Any:
    """glibc's malloc_trim, or None where there is none (not Linux, or another C library)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim  # glibc only: musl has no such function (AttributeError)
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def enabled() -> bool:
    return environment.MEMORY_TRIM.get() != "0"


def release_freed_memory() -> bool:
    """Hand the pages malloc holds but nothing uses back to the system. True when it ran."""
    trim = _malloc_trim() if enabled() else None
    if trim is None:
        return False
    try:
        trim(0)
    except Exception:  # noqa: BLE001 - only a saving: never let it break the caller
        log.debug("malloc_trim failed", exc_info=True)
        return False
    return True


def release_idle_memory(ocr_engines: Iterable[Any] = ()) -> bool:
    """What the app gives back after a quiet spell: the buffers the text readers' inference engine keeps
    between reads (OpenVINO's, engine/ocr_memory.py: ~180 MB on a 1280x720 screen), then every freed page
    (`release_freed_memory`). Returns whether pages were handed back. Not between requests: the next read
    allocates those buffers again and faults their pages in (docs/benchmarks.md, "Memory")."""
    if not enabled():
        return False
    for ocr in ocr_engines:
        ocr.release_memory()
    return release_freed_memory()


__all__ = ["enabled", "release_freed_memory", "release_idle_memory"]
