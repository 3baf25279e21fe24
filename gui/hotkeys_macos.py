"""Global hotkeys on macOS that are CONSUMED: the Carbon hot-key API (RegisterEventHotKey), which needs no
Accessibility permission and keeps the key from the application in front. A key the system or another
program already registered is refused (reported to the user by the manager).

Carbon delivers kEventHotKeyPressed to the application event target, handled by the main thread's run
loop, which Qt's Cocoa event loop runs: the callbacks come on the GUI thread. Keys are the ANSI keyboard's
virtual key codes (the physical position of the key on a US layout).

Threading contract: create, start() and stop() on the GUI (main) thread.
"""
from __future__ import annotations

import ctypes
import logging
import sys
from collections.abc import Callable

from describe_aloud.gui.hotkey_combo import Combo

log = logging.getLogger(__name__)

CARBON = "/System/Library/Frameworks/Carbon.framework/Carbon"
CMD_KEY, SHIFT_KEY, OPTION_KEY, CONTROL_KEY = 0x0100, 0x0200, 0x0800, 0x1000
MODIFIER_FLAGS = {"cmd": CMD_KEY, "shift": SHIFT_KEY, "alt": OPTION_KEY, "ctrl": CONTROL_KEY}
EVENT_HOT_KEY_PRESSED = 5
ANSI_KEYCODES = {
    "a": 0x00, "s": 0x01, "d": 0x02, "f": 0x03, "h": 0x04, "g": 0x05, "z": 0x06, "x": 0x07, "c": 0x08,
    "v": 0x09, "b": 0x0B, "q": 0x0C, "w": 0x0D, "e": 0x0E, "r": 0x0F, "y": 0x10, "t": 0x11, "1": 0x12,
    "2": 0x13, "3": 0x14, "4": 0x15, "6": 0x16, "5": 0x17, "=": 0x18, "9": 0x19, "7": 0x1A, "-": 0x1B,
    "8": 0x1C, "0": 0x1D, "]": 0x1E, "o": 0x1F, "u": 0x20, "[": 0x21, "i": 0x22, "p": 0x23, "l": 0x25,
    "j": 0x26, "'": 0x27, "k": 0x28, ";": 0x29, "\\": 0x2A, ",": 0x2B, "/": 0x2C, "n": 0x2D, "m": 0x2E,
    ".": 0x2F, "`": 0x32, "enter": 0x24, "return": 0x24, "tab": 0x30, "space": 0x31, "backspace": 0x33,
    "esc": 0x35, "escape": 0x35, "f1": 0x7A, "f2": 0x78, "f3": 0x63, "f4": 0x76, "f5": 0x60, "f6": 0x61,
    "f7": 0x62, "f8": 0x64, "f9": 0x65, "f10": 0x6D, "f11": 0x67, "f12": 0x6F, "home": 0x73, "pageup": 0x74,
    "page_up": 0x74, "delete": 0x75, "del": 0x75, "end": 0x77, "pagedown": 0x79, "page_down": 0x79,
    "left": 0x7B, "right": 0x7C, "down": 0x7D, "up": 0x7E,
}


def _fourcc(text: str) -> int:
    return int.from_bytes(text.encode("ascii"), "big")


class EventTypeSpec(ctypes.Structure):
    _fields_ = [("eventClass", ctypes.c_uint32), ("eventKind", ctypes.c_uint32)]


class EventHotKeyID(ctypes.Structure):
    _fields_ = [("signature", ctypes.c_uint32), ("id", ctypes.c_uint32)]


HANDLER = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
SIGNATURE = _fourcc("DsAl")


class CarbonHotkeys:
    """start(), stop(), `_ready`, `refused` ({combo text: reason}), `error` (as X11GrabListener)."""

    def __init__(self, hotkeys: dict[Combo, Callable[[], None]]) -> None:
        self._hotkeys = list(hotkeys.items())
        self._ready = False
        self.refused: dict[str, str] = {}
        self.error: Exception | None = None
        self._refs: list[ctypes.c_void_p] = []
        self._handler_ref = ctypes.c_void_p()
        self._handler = HANDLER(self._on_event)  # kept alive as long as Carbon may call it
        self._actions: dict[int, Callable[[], None]] = {}
        self._carbon: ctypes.CDLL | None = None

    def start(self) -> None:
        self._ready = True
        if sys.platform != "darwin":
            self.error = OSError("the Carbon hot-key API exists only on macOS")
            return
        try:
            carbon = ctypes.cdll.LoadLibrary(CARBON)
        except OSError as exc:
            self.error = exc
            return
        self._carbon = carbon
        carbon.GetApplicationEventTarget.restype = ctypes.c_void_p
        target = carbon.GetApplicationEventTarget()
        spec = EventTypeSpec(_fourcc("keyb"), EVENT_HOT_KEY_PRESSED)
        status = carbon.InstallEventHandler(ctypes.c_void_p(target), self._handler, 1, ctypes.byref(spec), None,
                                            ctypes.byref(self._handler_ref))
        if status != 0:
            self.error = OSError(f"InstallEventHandler failed ({status})")
            return
        for hotkey_id, (combo, callback) in enumerate(self._hotkeys, start=1):
            keycode = ANSI_KEYCODES.get(combo.key)
            if keycode is None:
                self.refused[combo.text] = "This key cannot be used as a global shortcut on a Mac."
                continue
            flags = 0
            for modifier in combo.modifiers:
                flags |= MODIFIER_FLAGS[modifier]
            ref = ctypes.c_void_p()
            status = carbon.RegisterEventHotKey(keycode, flags, EventHotKeyID(SIGNATURE, hotkey_id),
                                                ctypes.c_void_p(target), 0, ctypes.byref(ref))
            if status != 0:
                self.refused[combo.text] = "Another program already uses this shortcut."
                continue
            self._refs.append(ref)
            self._actions[hotkey_id] = callback

    def _on_event(self, _next_handler: int | None, event: int | None, _user_data: int | None) -> int:
        carbon = self._carbon
        if carbon is None:
            return 0
        hotkey = EventHotKeyID()
        carbon.GetEventParameter(ctypes.c_void_p(event), _fourcc("----"), _fourcc("hkid"), None,
                                 ctypes.sizeof(hotkey), None, ctypes.byref(hotkey))
        callback = self._actions.get(hotkey.id) if hotkey.signature == SIGNATURE else None
        if callback is not None:
            try:
                callback()
            except Exception:  # noqa: BLE001 - one failing action must not end the hotkeys
                log.exception("hotkey action failed")
        return 0

    def stop(self) -> None:
        carbon, self._carbon = self._carbon, None
        if carbon is None:
            return
        for ref in self._refs:
            carbon.UnregisterEventHotKey(ref)
        self._refs = []
        if self._handler_ref:
            carbon.RemoveEventHandler(self._handler_ref)
