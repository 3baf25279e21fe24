"""Global hotkeys on X11 that are CONSUMED: an exclusive grab (XGrabKey on the root window), so the
application in front never receives the key. (Listening through the RECORD extension only watched the
keys: Ctrl+Alt+D reached the focused program too.)

A grab matches the modifier state exactly, so each hotkey is grabbed four times: as is, with Caps Lock,
with Num Lock, with both (the Num Lock modifier is looked up in the server's modifier map; it is Mod2 on
most setups). A key another client already grabbed raises BadAccess: reported for that key (the manager
says so to the user), the others work.

Threading contract: `X11GrabListener` is a thread with its own X connection; it calls each hotkey's
callback on that thread (the manager's callbacks only emit a Qt signal). `stop()` may be called from any
thread and returns at once; the thread ends within `POLL_S`.
"""
from __future__ import annotations

import logging
import select
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

POLL_S = 0.1


class X11GrabListener(threading.Thread):
    """Same shape as pynput's listener as the manager uses it: start(), stop(), join(), `_ready`; plus
    `refused` ({name: reason} for keys it could not own) and `error` (why it could not start at all).
    `hotkeys`: {name ("ctrl+alt+d"): (keysym name, modifiers ("ctrl", "alt", "shift", "cmd"), callback)}."""

    def __init__(self, hotkeys: dict[str, tuple[str, tuple[str, ...], Callable[[], None]]],
                 display_name: str | None = None) -> None:
        super().__init__(name="hotkeys-x11-grab", daemon=True)
        self._hotkeys = hotkeys
        self._display_name = display_name
        self._stop_event = threading.Event()
        self._ready = False
        self.refused: dict[str, str] = {}  # name -> reason, known once ready
        self.error: Exception | None = None

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        try:
            from Xlib import X, XK, display, error
        except ImportError as exc:
            self.error = exc
            return
        try:
            dpy = display.Display(self._display_name)
        except Exception as exc:  # noqa: BLE001 - no X server: reported by the manager
            self.error = exc
            return
        try:
            root = dpy.screen().root
            masks = {"ctrl": X.ControlMask, "alt": X.Mod1Mask, "shift": X.ShiftMask, "cmd": X.Mod4Mask}
            numlock = _numlock_mask(dpy, XK)
            variants = (0, X.LockMask, numlock, X.LockMask | numlock)
            relevant = X.ControlMask | X.Mod1Mask | X.ShiftMask | X.Mod4Mask
            actions: dict[tuple[int, int], Callable[[], None]] = {}
            for name, (keysym_name, modifiers, callback) in self._hotkeys.items():
                keycode = dpy.keysym_to_keycode(XK.string_to_keysym(keysym_name))
                if not keycode:
                    self.refused[name] = "This key does not exist on this keyboard layout."
                    continue
                mask = 0
                for modifier in modifiers:
                    mask |= masks[modifier]
                catcher = error.CatchError(error.BadAccess)
                for extra in variants:
                    root.grab_key(keycode, mask | extra, True, X.GrabModeAsync, X.GrabModeAsync, onerror=catcher)
                dpy.sync()
                if catcher.get_error():
                    for extra in variants:
                        root.ungrab_key(keycode, mask | extra)
                    self.refused[name] = "Another program already uses this shortcut."
                    continue
                actions[(keycode, mask)] = callback
            dpy.sync()
            self._ready = True
            self._loop(dpy, X, actions, relevant)
            for keycode, mask in actions:
                for extra in variants:
                    root.ungrab_key(keycode, mask | extra)
            dpy.sync()
        except Exception as exc:  # noqa: BLE001 - the connection broke: no more hotkeys, said in the log
            self.error = exc
            log.warning("X11 hotkey grab ended: %s", exc, exc_info=True)
        finally:
            self._ready = True  # never leave the manager waiting
            dpy.close()

    def _loop(self, dpy, X, actions: dict[tuple[int, int], Callable[[], None]], relevant: int) -> None:  # noqa: N803
        held: set[int] = set()  # keycodes of hotkeys pressed and not yet released: a held key fires once
        while not self._stop_event.is_set():
            if not dpy.pending_events():
                select.select([dpy.fileno()], [], [], POLL_S)
                if not dpy.pending_events():
                    continue
            event = dpy.next_event()
            if event.type == X.KeyRelease:
                held.discard(event.detail)
                continue
            if event.type != X.KeyPress:
                continue
            callback = actions.get((event.detail, event.state & relevant))
            if callback is None or event.detail in held:
                continue
            held.add(event.detail)
            try:
                callback()
            except Exception:  # noqa: BLE001 - one failing action must not end the hotkeys
                log.exception("hotkey action failed")


def _numlock_mask(dpy, XK) -> int:  # noqa: N803 - the Xlib module
    """The modifier bit Num Lock sets (Mod2 on most setups), from the server's modifier map."""
    numlock = dpy.keysym_to_keycode(XK.string_to_keysym("Num_Lock"))
    for index, keycodes in enumerate(dpy.get_modifier_mapping()):
        if numlock and numlock in keycodes:
            return 1 << index
    return 1 << 4  # Mod2
