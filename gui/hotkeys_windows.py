"""Global hotkeys on Windows that are CONSUMED: RegisterHotKey. The system delivers the key to us as
WM_HOTKEY and the application in front never sees it; a key another program registered is refused
(reported to the user by the manager).

The hotkeys are registered for a thread of ours (hWnd NULL) that runs a plain message loop, so Qt's
event loop is not involved; `stop()` posts WM_QUIT to that thread, which then unregisters them.

Keys are Windows virtual-key codes: letters and digits are their upper-case character, punctuation is
looked up for the current keyboard layout (VkKeyScanW).

Threading contract: `WindowsHotkeys` is a thread; callbacks run on it (the manager's only emit a signal).
"""
from __future__ import annotations

import ctypes
import logging
import sys
import threading
from collections.abc import Callable

from describe_aloud.gui.hotkey_combo import Combo

log = logging.getLogger(__name__)

MOD_ALT, MOD_CONTROL, MOD_SHIFT, MOD_WIN, MOD_NOREPEAT = 0x1, 0x2, 0x4, 0x8, 0x4000
WM_HOTKEY, WM_QUIT = 0x0312, 0x0012
MODIFIER_FLAGS = {"alt": MOD_ALT, "ctrl": MOD_CONTROL, "shift": MOD_SHIFT, "cmd": MOD_WIN}
NAMED_VK = {
    "space": 0x20, "esc": 0x1B, "escape": 0x1B, "enter": 0x0D, "return": 0x0D, "tab": 0x09,
    "backspace": 0x08, "delete": 0x2E, "del": 0x2E, "insert": 0x2D, "ins": 0x2D, "home": 0x24, "end": 0x23,
    "pageup": 0x21, "page_up": 0x21, "pagedown": 0x22, "page_down": 0x22, "up": 0x26, "down": 0x28,
    "left": 0x25, "right": 0x27, "print": 0x2C, "printscreen": 0x2C, "print_screen": 0x2C, "pause": 0x13,
    **{f"f{n}": 0x6F + n for n in range(1, 25)},
}


def virtual_key(key: str) -> int | None:
    """The virtual-key code of one of our key names, None when this keyboard layout has no such key."""
    if key in NAMED_VK:
        return NAMED_VK[key]
    if len(key) == 1 and (key.isascii() and key.isalnum()):
        return ord(key.upper())
    if len(key) == 1 and sys.platform == "win32":
        scan = ctypes.windll.user32.VkKeyScanW(ctypes.c_wchar(key))
        return None if scan == -1 else scan & 0xFF
    return None


class WindowsHotkeys(threading.Thread):
    """start(), stop(), join(), `_ready`, `refused` ({combo text: reason}), `error` (as X11GrabListener)."""

    def __init__(self, hotkeys: dict[Combo, Callable[[], None]]) -> None:
        super().__init__(name="hotkeys-windows", daemon=True)
        self._hotkeys = list(hotkeys.items())
        self._thread_id = 0
        self._ready = False
        self.refused: dict[str, str] = {}
        self.error: Exception | None = None

    def stop(self) -> None:
        if sys.platform == "win32" and self._thread_id:
            ctypes.windll.user32.PostThreadMessageW(self._thread_id, WM_QUIT, 0, 0)

    def run(self) -> None:
        if sys.platform != "win32":
            self.error = OSError("RegisterHotKey exists only on Windows")
            self._ready = True
            return
        from ctypes import wintypes

        user32 = ctypes.windll.user32
        self._thread_id = ctypes.windll.kernel32.GetCurrentThreadId()
        msg = wintypes.MSG()
        # Make sure this thread has a message queue before anyone posts WM_QUIT to it.
        user32.PeekMessageW(ctypes.byref(msg), None, 0, 0, 0)
        actions: dict[int, Callable[[], None]] = {}
        for hotkey_id, (combo, callback) in enumerate(self._hotkeys, start=1):
            vk = virtual_key(combo.key)
            if vk is None:
                self.refused[combo.text] = "This key does not exist on this keyboard layout."
                continue
            flags = MOD_NOREPEAT  # a held key fires once
            for modifier in combo.modifiers:
                flags |= MODIFIER_FLAGS[modifier]
            if not user32.RegisterHotKey(None, hotkey_id, flags, vk):
                self.refused[combo.text] = "Another program already uses this shortcut."
                continue
            actions[hotkey_id] = callback
        self._ready = True
        try:
            while user32.GetMessageW(ctypes.byref(msg), None, 0, 0) > 0:
                if msg.message == WM_HOTKEY and int(msg.wParam) in actions:
                    try:
                        actions[int(msg.wParam)]()
                    except Exception:  # noqa: BLE001 - one failing action must not end the hotkeys
                        log.exception("hotkey action failed")
        finally:
            for hotkey_id in actions:
                user32.UnregisterHotKey(None, hotkey_id)
