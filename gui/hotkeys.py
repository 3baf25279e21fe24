"""Global hotkeys (pynput): press "ctrl+alt+d" anywhere and the app hears it.

pynput listens through python-xlib's RECORD extension on X11, Win32 hooks on Windows and a Quartz event
tap on macOS. Wayland offers no global keyboard access to apps, so there every hotkey is reported as not
registered, with the alternative: bind `python main.py describe-screen` in the desktop's own shortcut
settings (it talks to the running app over the single-instance socket).

Threading contract: pynput calls back on its own listener thread. Those callbacks ONLY emit
`activated(action)`; Qt queues the signal to receivers in the GUI thread. Nothing here touches a widget.
`stop()` (and `apply()`, which replaces the listener) stops and joins that thread.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Callable

from PySide6.QtCore import QObject, Signal

from describe_aloud.engine.errors import user_message
from describe_aloud.engine.i18n import N_, _
from describe_aloud.engine.invocation import user_command
from describe_aloud.gui.actions import action_label
from describe_aloud.gui.hotkey_combo import _NAMED_KEYS, _X_CHAR_KEYSYMS, Combo, ComboError, parse_combo

log = logging.getLogger(__name__)

WAYLAND_REASON = N_(
    "Global hotkeys are not available in a Wayland session. Bind the command "
    "'{command}' to a shortcut in your desktop's keyboard settings instead."
)

def wayland_without_x(environ: dict[str, str] | None = None) -> bool:
    """True in a Wayland session with no X server to listen on (no XWayland DISPLAY)."""
    env = os.environ if environ is None else environ
    return env.get("XDG_SESSION_TYPE", "").lower() == "wayland" and not env.get("DISPLAY")


def action_command(action: str) -> str:
    """The CLI command that does the same as a hotkey action: describe_screen -> describe-screen."""
    return action.replace("_", "-")


# --------------------------------------------------------------------------------------------------
# Conflicts: on X11 a key another program has grabbed cannot be grabbed again (BadAccess).
# --------------------------------------------------------------------------------------------------


def x11_keysym(combo: Combo) -> str:
    """The X11 keysym name of the combo's key ("d", "F5", "comma")."""
    return _NAMED_KEYS[combo.key][1] if combo.key in _NAMED_KEYS else _X_CHAR_KEYSYMS.get(combo.key, combo.key)


STOP_SPEECH = "stop_speech"  # the action whose global key must always work


def x11_conflicts(combos: dict[str, Combo]) -> dict[str, str]:
    """{action: reason} for combos another X11 client already grabbed. Empty where this cannot be checked."""
    if sys.platform.startswith(("win", "darwin")) or not os.environ.get("DISPLAY"):
        return {}
    try:
        from Xlib import X, XK, display, error
    except ImportError:
        return {}
    masks = {"ctrl": X.ControlMask, "alt": X.Mod1Mask, "shift": X.ShiftMask, "cmd": X.Mod4Mask}
    conflicts: dict[str, str] = {}
    try:
        dpy = display.Display()
    except Exception as exc:  # no X server: pynput will report it; nothing to check here
        log.debug("cannot check hotkey conflicts: %s", exc)
        return {}
    try:
        root = dpy.screen().root
        for action, combo in combos.items():
            name = x11_keysym(combo)
            keycode = dpy.keysym_to_keycode(XK.string_to_keysym(name))
            if not keycode:
                conflicts[action] = _("The key '{key}' does not exist on this keyboard layout.").format(key=combo.key)
                continue
            mask = 0
            for modifier in combo.modifiers:
                mask |= masks[modifier]
            catcher = error.CatchError(error.BadAccess)
            root.grab_key(keycode, mask, False, X.GrabModeAsync, X.GrabModeAsync, onerror=catcher)
            dpy.sync()
            if catcher.get_error():
                conflicts[action] = _("Another program already uses this shortcut.")
            else:
                root.ungrab_key(keycode, mask)
                dpy.sync()
    finally:
        dpy.close()
    return conflicts


# --------------------------------------------------------------------------------------------------
# The manager
# --------------------------------------------------------------------------------------------------


def _kick_x11_record(listener) -> None:
    """Make pynput's X11 listener thread really end now.

    pynput disables the RECORD context on the connection its thread is blocked reading and never flushes
    it, so the thread lingers until the next key press. Disabling the same context from pynput's second
    connection, and flushing it, wakes the thread at once (X contexts are server-wide ids).
    """
    display_stop = getattr(listener, "_display_stop", None)
    context = getattr(listener, "_context", None)
    if display_stop is None or context is None:
        return
    display_stop.record_disable_context(context)
    display_stop.flush()


def _combos(mapping: dict[str, Callable[[], None]]) -> dict[Combo, Callable[[], None]]:
    """{pynput "<ctrl>+<alt>+d": callback} back to {Combo: callback}."""
    return {parse_combo(text.replace("<", "").replace(">", "")): callback for text, callback in mapping.items()}


def _default_listener_factory(mapping: dict[str, Callable[[], None]]):
    """A listener that CONSUMES its keys where the platform allows it (X11 grab, RegisterHotKey, Carbon
    hot keys); pynput (which only watches them) where none of those applies."""
    if sys.platform == "win32":
        from describe_aloud.gui.hotkeys_windows import WindowsHotkeys

        return WindowsHotkeys(_combos(mapping))
    if sys.platform == "darwin":
        from describe_aloud.gui.hotkeys_macos import CarbonHotkeys

        return CarbonHotkeys(_combos(mapping))
    if os.environ.get("DISPLAY"):
        from describe_aloud.gui.hotkeys_x11 import X11GrabListener

        return X11GrabListener({c.text: (x11_keysym(c), c.modifiers, callback) for c, callback in _combos(mapping).items()})
    from pynput import keyboard  # imported late: on Linux it connects to the X server on import

    return keyboard.GlobalHotKeys(mapping)


class HotkeyManager(QObject):
    """Registers the global hotkeys and emits `activated(action)` when one is pressed.

    Create and use it in the GUI thread. `apply()` may be called again (settings changed): it replaces
    every hotkey. Each hotkey that cannot be registered is reported once through
    `registration_failed(action, combo, reason)`, where reason is a sentence for the user.
    """

    activated = Signal(str)
    registration_failed = Signal(str, str, str)

    def __init__(self, parent: QObject | None = None, *,
                 listener_factory: Callable[[dict[str, Callable[[], None]]], object] | None = None) -> None:
        super().__init__(parent)
        self._listener_factory = listener_factory or _default_listener_factory
        self._listener = None
        self._registered: dict[str, str] = {}

    @property
    def registered(self) -> dict[str, str]:
        """{action: combo} that are live now."""
        return dict(self._registered)

    def apply(self, hotkeys: dict[str, str]) -> dict[str, str]:
        """Replace all hotkeys with `hotkeys` ({action: "ctrl+alt+d"}; an empty combo disables that action).

        Returns the {action: combo} that were registered.
        """
        self.stop()
        wanted = {action: combo for action, combo in hotkeys.items() if combo and combo.strip()}
        if not wanted:
            return {}
        # A shortcut given to two actions goes to the first: stop speech comes first, so a hand-edited
        # settings file can never leave the user without the key that silences the app.
        wanted = dict(sorted(wanted.items(), key=lambda item: item[0] != STOP_SPEECH))
        if wayland_without_x():
            for action, combo in wanted.items():
                self._fail(action, combo, _(WAYLAND_REASON).format(command=user_command(action_command(action))))
            return {}

        parsed: dict[str, Combo] = {}
        owner_of: dict[str, str] = {}
        for action, combo in wanted.items():
            try:
                parsed_combo = parse_combo(combo)
            except ComboError as exc:
                self._fail(action, combo, user_message(exc))
                continue
            if parsed_combo.text in owner_of:
                self._fail(action, combo, _("This shortcut is already used for '{action}' in this app.").format(
                    action=action_label(owner_of[parsed_combo.text])))
                continue
            owner_of[parsed_combo.text] = action
            parsed[action] = parsed_combo

        for action, reason in x11_conflicts(parsed).items():
            self._fail(action, wanted[action], reason)
            parsed.pop(action)
        if not parsed:
            return {}

        mapping = {combo.pynput(): self._emitter(action) for action, combo in parsed.items()}
        try:
            listener = self._listener_factory(mapping)
            listener.start()
            ready = self._wait_ready(listener)
        except Exception as exc:  # no X server, no RECORD extension, no permission...
            log.warning("global hotkeys unavailable: %s", exc)
            for action, combo in parsed.items():
                self._fail(action, wanted[action], self._unavailable_reason(action, exc))
            return {}
        error = getattr(listener, "error", None)  # our consuming listeners say why they could not start
        if not ready or isinstance(error, Exception):
            self._stop_listener(listener)
            for action in parsed:
                self._fail(action, wanted[action], self._unavailable_reason(action, error))
            return {}
        refused: dict[str, str] = getattr(listener, "refused", {})  # text -> reason: keys it could not own
        for action, combo in list(parsed.items()):
            if combo.text in refused:
                self._fail(action, wanted[action], refused[combo.text])
                parsed.pop(action)
        if sys.platform == "darwin" and getattr(listener, "IS_TRUSTED", True) is False:
            for action in parsed:
                self._fail(action, wanted[action],
                           _("macOS has not allowed this app to watch the keyboard. Open System Settings, "
                           "Privacy & Security, Accessibility (and Input Monitoring), allow Describe Aloud "
                           "or your Terminal, then restart the app."))
        self._listener = listener
        self._registered = {action: wanted[action] for action in parsed}
        log.info("global hotkeys: %s", self._registered)
        return self.registered

    def stop(self) -> None:
        """Stop listening and join the listener thread (returns within about a second)."""
        listener, self._listener = self._listener, None
        self._registered = {}
        if listener is not None:
            self._stop_listener(listener)

    # -- helpers ------------------------------------------------------------------------------------

    def _emitter(self, action: str) -> Callable[[], None]:
        def emit() -> None:  # runs on pynput's thread: emit only (queued to the GUI thread)
            self.activated.emit(action)

        return emit

    def _fail(self, action: str, combo: str, reason: str) -> None:
        log.warning("hotkey %s (%s) not registered: %s", combo, action, reason)
        self.registration_failed.emit(action, combo, reason)

    @staticmethod
    def _unavailable_reason(action: str, exc: Exception | None) -> str:
        problem = _("Global hotkeys could not be started")
        if exc is not None:
            problem = user_message(exc, doing=problem)
        return _("{problem}. Bind the command '{command}' to a shortcut in your desktop's keyboard settings "
                 "instead.").format(problem=problem.rstrip("."), command=user_command(action_command(action)))

    @staticmethod
    def _wait_ready(listener, timeout: float = 3.0) -> bool:
        # pynput's own wait() spins forever if the listener thread died while starting.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if getattr(listener, "_ready", True):
                return True
            if isinstance(listener, threading.Thread) and not listener.is_alive():
                return False
            time.sleep(0.01)
        return False

    @staticmethod
    def _stop_listener(listener) -> None:
        alive = isinstance(listener, threading.Thread) and listener.is_alive()
        ready = getattr(listener, "_ready", True)
        if not ready and not alive:
            return  # it died while starting: nothing to stop (pynput's stop() would wait for it forever)

        def stop() -> None:
            try:
                listener.stop()
                _kick_x11_record(listener)
            except Exception as exc:  # stopping a half-started listener may fail; the join below still runs
                log.debug("stopping the hotkey listener: %s", exc)

        if ready:
            stop()
        else:  # still starting: pynput's stop() would block until it is ready, so never on this thread
            threading.Thread(target=stop, name="hotkey-stop", daemon=True).start()
        if alive and listener is not threading.current_thread():
            try:
                listener.join(timeout=2.0)
            except Exception as exc:  # pynput re-raises the listener thread's error in join()
                log.debug("hotkey listener ended with: %s", exc)


__all__ = ["Combo", "ComboError", "HotkeyManager", "parse_combo"]
