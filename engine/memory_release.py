"""Give memory that the program has freed back to the system (Linux with glibc only).

Why: glibc's malloc keeps freed memory inside the process for later allocations. Loading a captioner frees
a lot at once (the plain bf16 weights once they are packed for oneDNN, transformers' loading buffers), and
so does each description (the image tensors, the OCR's cut-out lines); the freed pages stay counted as the
app's resident memory until glibc hands them back, which it does only for the top of its main heap.
`malloc_trim(0)` returns every free page of every arena. Measured on the default captioner (GIT-base, bf16
packed): -80 MB right after the load, -90 MB after three descriptions (docs/benchmarks.md, "Memory").
It takes ~10 ms, so it runs after a load and after 20 s without a request (gui/worker.py), never on a
request's way: the next request faults given-back pages in again (after every request: +0.1 s hotkey p95). Nothing a model computes depends on it: only pages no object uses are given back.

GPU libraries a CPU never runs (`release_unused_gpu_libraries`, Linux): PyPI's torch for Linux is the CUDA
build, and importing it maps CUDA's libraries and touches ~150 MB of their pages (relocations, static
initialisers: libcublasLt 62, libnvJitLink 32, libnvrtc 28, libtorch_cuda 17 MB...), counted as the app's
resident memory although nothing runs there while CUDA is not in use. While CUDA has not been initialised in
this process, those pages are handed back; should CUDA be used after all, they are faulted in again:
- their code (`r-xp` mappings, 107 of the ~150 MB) with `madvise(MADV_DONTNEED)`, which unmaps them from
  the process (the page cache keeps them until the kernel needs the room), but only when no page of the
  mapping is this process's own copy, in memory (smaps `Anonymous`) or in swap (`Swap`): code is never
  written by the dynamic linker (relocated data, RELRO, lies in the read-only `r--p` mappings), so
  DONTNEED can only drop pages the file gives back unchanged;
- every other read-only mapping (relocated data among them) with `MADV_PAGEOUT` (Linux 5.4+), which never
  discards data: a written page goes to swap or stays (and pages shared with another process stay too).
The ranges come from /proc/self/smaps just before; a library torch loaded is never unloaded, so no other
mapping can take a range in between. Nothing changes but the count: one interpreter with the default
captioner, the libraries' resident pages 149 -> 9 MB (VmRSS 955 -> 814 MB), the same caption afterwards
(tests/engine/test_memory_release.py checks the caption and the pages). ~25 ms.

Elsewhere (Windows, macOS, musl) it does nothing: their allocators return memory their own way.
`DESCRIBE_ALOUD_MEMORY_TRIM=0` turns it off (the bench measures with and without).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from describe_aloud.engine import environment

log = logging.getLogger(__name__)


def _libc_function(name: str, argtypes: list[Any]) -> Any:
    """The C library's function `name` (returning int), or None where there is none (not Linux, or a C
    library without it: musl has no malloc_trim)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None
    function.argtypes = argtypes
    function.restype = ctypes.c_int
    return function


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Any:
    return _libc_function("malloc_trim", [ctypes.c_size_t])


def enabled() -> bool:
    return environment.MEMORY_TRIM.get() != "0"


def release_freed_memory() -> bool:
    """Hand the pages malloc holds but nothing uses back to the system (and, while CUDA is not in use, the
    pages of GPU-only libraries: `release_unused_gpu_libraries`). True when the trim ran."""
    release_unused_gpu_libraries()
    trim = _malloc_trim() if enabled() else None
    if trim is None:
        return False
    try:
        trim(0)
    except Exception:  # noqa: BLE001 - only a saving: never let it break the caller
        log.debug("malloc_trim failed", exc_info=True)
        return False
    return True


# Libraries only a GPU runs: the nvidia-* wheels' folders, and torch's and triton's own CUDA parts.
_GPU_LIBRARY = re.compile(
    r"/(site|dist)-packages/nvidia/|/lib(torch_cuda|c10_cuda|caffe2_nvrtc|triton|cuda|cudart|cublas|cublasLt|cudnn[a-z_]*|nccl|"
    r"nvJitLink|nvrtc|cusparse|cusparseLt|cufft|curand|cusolver|cupti|nvToolsExt|nvshmem[a-z_]*|cufile|"
    r"torch_nvshmem)"
    r"[^/]*\.so[^/]*$")
# A mapping's first line in smaps: "7f..-7f.. r-xp 00000000 fe:01 1234   /path/lib.so" (path optional).
_MAPPING_HEADER = re.compile(r"^[0-9a-f]+-[0-9a-f]+ [-r][-w][-x][ps-] ")
_MADV_DONTNEED = 4  # linux/mman.h
_MADV_PAGEOUT = 21  # Linux 5.4+


@functools.lru_cache(maxsize=1)
def _madvise() -> Any:
    return _libc_function("madvise", [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int])


def gpu_library_mappings(smaps: str = "/proc/self/smaps") -> list[tuple[int, int, str, str, int]]:
    """(start, end, permissions, path, KB of the process's own copies: smaps Anonymous + Swap) of this
    process's read-only mappings of GPU-only libraries."""
    found: list[list] = []
    try:
        lines = Path(smaps).read_text().splitlines()
    except OSError:
        return []
    current: list | None = None
    for line in lines:
        head = line.split(maxsplit=5)
        if _MAPPING_HEADER.match(line):
            current = None
            if len(head) == 6 and "w" not in head[1] and _GPU_LIBRARY.search(head[5]):
                start, end = (int(x, 16) for x in head[0].split("-"))
                current = [start, end, head[1], head[5], 0]
                found.append(current)
        elif current is not None and line.startswith(("Anonymous:", "Swap:")):
            current[4] += int(line.split()[1])
    return [tuple(m) for m in found]  # type: ignore[misc]


def release_unused_gpu_libraries() -> int:
    """Hand back the pages of GPU-only libraries while CUDA is not in use here (module docstring). Returns
    the bytes of mappings advised (0: not Linux, trimming off, torch not imported, or CUDA in use)."""
    advise = _madvise() if enabled() else None
    torch = sys.modules.get("torch")
    if advise is None or torch is None:
        return 0
    try:
        if torch.cuda.is_initialized():
            return 0
    except Exception:  # noqa: BLE001 - a torch without CUDA support: nothing of CUDA's is mapped either
        return 0
    advised = 0
    for start, end, permissions, _path, own_kb in gpu_library_mappings():
        how = _MADV_DONTNEED if permissions == "r-xp" and own_kb == 0 else _MADV_PAGEOUT
        if advise(start, end - start, how) == 0:
            advised += end - start
    return advised


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


__all__ = ["enabled", "gpu_library_mappings", "release_freed_memory", "release_idle_memory",
           "release_unused_gpu_libraries"]
