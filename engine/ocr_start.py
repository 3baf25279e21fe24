"""Starting the text reader sooner: two things rapidocr and OpenVINO redo at every start, done once.

"Ready." is said when the text reader has read its first sample (gui/worker_models.py), so its start is
what a user waits for after launching the app, and the captioner only starts loading after it.

- **rapidocr's model table is read twice while rapidocr is imported**: its 85 KB `default_models.yaml`,
  once by `utils.model_resolver` and once by `inference_engine.base.InferSession`, each time through
  OmegaConf (0.12-0.3 s each on the 2-core test machine: OmegaConf builds a node per value). Both only read
  it, so while rapidocr is imported the second reader gets the first one's object (`model_table_read_once`).
- **OpenVINO compiles rapidocr's three ONNX models at every start** (0.6-0.7 s of the text reader's ~2 s).
  With OpenVINO's model cache (its `CACHE_DIR` property) the compiled models are written once and loaded
  afterwards: 0.29-0.34 s for the three, read included. The text read is the same (lines, boxes and scores:
  tests/engine/test_ocr_start.py; the detector's raw output was bit-identical in a one-off check). A damaged
  cache file (a crash while writing, two processes writing at once, a full disk) is read as missing by
  OpenVINO, which compiles again and rewrites it: slower once, never other text. The cache's folder is named
  after the CPU, its flags and the OpenVINO version, so a home folder moved to another computer or an
  OpenVINO upgrade starts a new one; a folder no start has used for STALE_AFTER_DAYS is removed, so upgrades
  do not pile up ~31 MB each (a home shared by computers used within that time keeps each one's). ~31 MB in
  `cache_dir()/openvino/`, private to the user (0700); the first start pays ~0.7 s more, once, to write it.
  `DESCRIBE_ALOUD_OCR_CACHE=0` turns the cache off (benches compare), an absolute folder puts it there (the
  tests share one).
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from describe_aloud.engine import environment
from describe_aloud.engine.config import cache_dir, private_dir
from describe_aloud.engine.device import cpu_model_and_flags

log = logging.getLogger(__name__)

MODEL_TABLE = "default_models.yaml"
_patch_lock = threading.Lock()
# A compiled-models folder no start has used for this long belongs to an OpenVINO or a CPU gone: removed.
STALE_AFTER_DAYS = 60
_KEY = re.compile("[0-9a-f]{16}")  # only folders named as compiled_models_dir names them are ever removed
_pruned: set[Path] = set()


@contextlib.contextmanager
def model_table_read_once() -> Iterator[None]:
    """While rapidocr is imported, OmegaConf reads its model table once; other files as usual."""
    try:
        from omegaconf import OmegaConf
    except ImportError:  # another rapidocr, without OmegaConf: nothing to share
        yield
        return
    with _patch_lock:
        original = OmegaConf.__dict__["load"]
        read = getattr(original, "__func__", original)  # a staticmethod, unless someone replaced it
        tables: dict[str, Any] = {}

        def load(file_: Any) -> Any:
            if not isinstance(file_, (str, os.PathLike)) or Path(file_).name != MODEL_TABLE:
                return read(file_)
            key = os.path.realpath(file_)
            if key not in tables:
                tables[key] = read(file_)
            return tables[key]

        OmegaConf.load = staticmethod(load)  # type: ignore[method-assign, assignment]
        try:
            yield
        finally:
            OmegaConf.load = original  # type: ignore[method-assign]


def compiled_models_dir() -> Path | None:
    """Where OpenVINO keeps the compiled OCR models for this CPU and OpenVINO version, created; None when
    the cache is turned off or the folder cannot be written (then OpenVINO compiles at every start)."""
    setting = environment.OCR_CACHE.get()
    if setting is not None and setting.lower() in ("0", "off", "no", "false"):
        return None
    try:
        import openvino

        version = getattr(openvino, "__version__", "") or openvino.get_version()
    except Exception:  # noqa: BLE001 - no OpenVINO, no cache
        return None
    model, flags = cpu_model_and_flags()
    key = hashlib.sha256(f"{model}|{' '.join(sorted(flags))}|{version}".encode()).hexdigest()[:16]
    base = Path(setting) if setting and Path(setting).is_absolute() else cache_dir() / "openvino"
    folder = base / key
    try:
        private_dir(folder)
    except OSError as exc:
        log.info("no OpenVINO model cache (%s): the OCR models are compiled at every start", exc)
        return None
    if not os.access(folder, os.W_OK | os.X_OK):
        return None
    if base not in _pruned:  # once per process (each of rapidocr's three models asks)
        _pruned.add(base)
        _remove_stale_caches(base, keep=folder)
    return folder


def _remove_stale_caches(base: Path, *, keep: Path) -> None:
    """Mark `keep` as used now (a folder's time changes only when files are added) and remove the folders
    beside it that no start has used for STALE_AFTER_DAYS. Never anything not named like a cache key."""
    now = time.time()
    try:
        os.utime(keep, (now, now))
        siblings = list(base.iterdir())
    except OSError:
        return
    for other in siblings:
        try:
            if other == keep or not _KEY.fullmatch(other.name) or other.is_symlink() or not other.is_dir():
                continue
            used = other.stat().st_mtime
            if now - used > STALE_AFTER_DAYS * 86400:
                shutil.rmtree(other)
                log.info("removed compiled OCR models last used %s (another OpenVINO or CPU): %s",
                         time.strftime("%Y-%m-%d", time.localtime(used)), other)
        except OSError:
            log.debug("could not remove %s", other, exc_info=True)


def cache_compiled_models() -> bool:
    """Make rapidocr's OpenVINO sessions use the model cache (`compiled_models_dir`, looked up when each
    session is built). rapidocr makes an `openvino.Core` of its own per model and has no setting for it, so
    its module gets a Core that sets `CACHE_DIR` first. False when rapidocr is laid out otherwise (then
    nothing changes: the models are compiled as before)."""
    try:
        import rapidocr.inference_engine.openvino.main as sessions
    except Exception:  # noqa: BLE001 - OpenVINO or that module missing: rapidocr builds as it always did
        return False
    base = getattr(sessions, "Core", None)
    if base is None:
        return False
    if getattr(base, "caches_compiled_models", False):
        return True

    class CachingCore(base):  # type: ignore[misc, valid-type]
        caches_compiled_models = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            folder = compiled_models_dir()
            if folder is None:
                return
            try:
                self.set_property({"CACHE_DIR": str(folder)})
            except Exception:  # noqa: BLE001 - only a saving: compile as before
                log.debug("OpenVINO refused CACHE_DIR", exc_info=True)

    sessions.Core = CachingCore
    return True


__all__ = ["MODEL_TABLE", "cache_compiled_models", "compiled_models_dir", "model_table_read_once"]
