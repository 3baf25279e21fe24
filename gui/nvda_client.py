"""NVDA's controller client (nvdaControllerClient.dll, shipped with NVDA and its add-on SDK): speak a text in
NVDA's voice, through its queue. Windows only; elsewhere every function says "not running".

The DLL is looked up on the DLL search path (next to the app, or a folder on PATH) once per process.

Threading contract: any thread; the DLL's calls are RPCs to NVDA that return within milliseconds.
"""
from __future__ import annotations

import ctypes
import logging
import sys
from typing import Any

log = logging.getLogger(__name__)

DLL_NAMES = ("nvdaControllerClient.dll", "nvdaControllerClient64.dll", "nvdaControllerClient32.dll")
_dll: Any = None
_searched = False


def _load() -> Any:
    global _dll, _searched
    if sys.platform == "win32" and not _searched:
        _searched = True
        for name in DLL_NAMES:
            try:
                _dll = ctypes.windll.LoadLibrary(name)
            except OSError:
                continue
            _dll.nvdaController_speakText.argtypes = [ctypes.c_wchar_p]
            break
    return _dll


def nvda_running() -> bool:
    dll = _load()
    return dll is not None and dll.nvdaController_testIfRunning() == 0


def speak(text: str, interrupt: bool = False) -> bool:
    """Hand `text` to NVDA; False when NVDA did not take it (the caller uses another way)."""
    dll = _load()
    if dll is None:
        return False
    if interrupt:
        dll.nvdaController_cancelSpeech()  # NVDA's own queue: only what NVDA was saying
    return bool(dll.nvdaController_speakText(text) == 0)


def cancel() -> None:
    dll = _load()
    if dll is not None:
        dll.nvdaController_cancelSpeech()
