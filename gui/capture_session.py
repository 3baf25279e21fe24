"""Grabbing the screen from the app: our own windows hidden, the capture, our windows back.

A description of the screen must not read our own menus and buttons, so every window of ours that a
capture would show is hidden first (`hide_own_windows`), the screen is grabbed, and the windows are shown
again (`restore_windows`): the one the user was in gets the focus back; when the user was in another
application, ours come back without taking the focus from it. The two steps are separate functions so
what happens to the focus after a capture is decided, and tested, in one place.

Threading contract: GUI thread only. The grab itself (engine.capture, mss) takes tens of milliseconds on
this thread, which owns the mss instance (`prepare()` opens it early, `close()` releases it).
"""
from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field

from PIL import Image
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

from describe_aloud.engine import capture as screen
from describe_aloud.engine.capture_platform import x11_focus_on
from describe_aloud.engine.errors import user_message
from describe_aloud.engine.i18n import N_, _

log = logging.getLogger(__name__)

# engine.capture target -> the source the user hears ("Described screen.").
SOURCE_NAMES = {
    # Translators: what was described, said as "Described {source}." (see gui/presenter.py).
    "monitor_under_pointer": N_("screen"),
    "active_window": N_("active window"),
    "region_around_pointer": N_("region around the pointer"),
    "all_monitors": N_("all monitors"),
}
# After our windows are hidden and the display server has processed that (one round trip, well under
# 1 ms locally), whatever they covered must be repainted before the capture: by a compositor (one or two
# frames at 60 Hz) or by the applications underneath (an X11 desktop without compositing). Measured
# under Xvfb: uncovered pixels are there on the first grab, 3-8 ms after the hide.
HIDE_SETTLE_MS = 40
# Windows 10 2004+: SetWindowDisplayAffinity(WDA_EXCLUDEFROMCAPTURE) keeps a window out of every capture
# while it stays on the screen, so there is nothing to hide and nothing to wait for.
WDA_EXCLUDEFROMCAPTURE = 0x11
# After an in-window capture the window is activated again this long after it is shown (see restore_windows).
REACTIVATE_MS = 150


@dataclass
class HiddenWindows:
    """Our windows hidden for one capture, to be shown again afterwards (`restore_windows`)."""

    windows: list[QWidget]
    active: QWidget | None  # the one that had the focus (it gets it back); None: another application had it
    started: float  # perf_counter() when hiding began
    focus: QWidget | None = None  # the control that had the keyboard focus in `active`
    hide_ms: float = 0.0  # hiding them + the display server round trip


@dataclass
class ScreenCapture:
    """A grabbed screen, ready to describe."""

    image: Image.Image
    source: str  # what the user hears: "screen", "active window"...
    note: str | None  # said on the status line (e.g. "no active window: the screen instead")
    timings_ms: dict[str, float] = field(default_factory=dict)  # hide, hide_wait, capture


def exclude_from_capture(window: QWidget) -> bool:
    """On Windows, keep `window` out of screen captures while it stays visible (no hiding, no wait).
    True when that worked; always False elsewhere (X11 and Wayland have no such thing; macOS's
    NSWindow.sharingType is not reachable from Qt without PyObjC)."""
    if sys.platform != "win32":
        return False
    try:
        import ctypes

        return bool(ctypes.windll.user32.SetWindowDisplayAffinity(int(window.winId()), WDA_EXCLUDEFROMCAPTURE))
    except Exception:  # noqa: BLE001 - older Windows: the window is hidden for each capture instead
        log.info("SetWindowDisplayAffinity is not available", exc_info=True)
        return False


def windows_to_hide(excluded: set[int]) -> list[QWidget]:
    """Our top-level windows that would be in a capture: visible, not minimised, not kept out of captures
    by the system (`excluded`: ids), not modal (hiding a modal dialog would end it, as if cancelled) and
    not a popup or tooltip (those close by themselves)."""
    transient = (Qt.WindowType.Popup, Qt.WindowType.ToolTip, Qt.WindowType.SplashScreen)
    return [w for w in QApplication.topLevelWidgets()
            if w.isVisible() and not w.isMinimized() and not w.isModal() and id(w) not in excluded
            and w.windowType() not in transient]


def show_without_activating(window: QWidget) -> None:
    """Show `window` again without it taking the focus (the user is in another application).

    WA_ShowWithoutActivating alone does not do it for a window shown before: Qt copies it to the native
    window (the "_q_showWithoutActivating" property the platform plugins read: on X11 it becomes
    _NET_WM_USER_TIME 0, which tells the window manager not to focus the window) only when that is
    created. So the property is set on the existing QWindow for this one show."""
    handle = window.windowHandle()
    was = window.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    window.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, True)
    if handle is not None:
        handle.setProperty("_q_showWithoutActivating", True)
    try:
        window.show()
    finally:
        window.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, was)
        if handle is not None and not was:
            handle.setProperty("_q_showWithoutActivating", None)  # removed: a later show activates again


def primary_screen_pixels() -> tuple[int, int] | None:
    """The main screen's size in device pixels (what a capture of it will be), or None without a screen."""
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return None
    size, ratio = screen.size(), screen.devicePixelRatio()
    return round(size.width() * ratio), round(size.height() * ratio)


def still_focused(window: QWidget) -> bool:
    """Whether the window system still gives `window` (active for Qt) the keyboard focus.

    On X11 Qt keeps a window active for 400 ms after it lost the focus (waiting for a FocusIn to another
    of its windows). A user who switches to another application and presses the hotkey within that time
    was in that application: taken as ours, our window would come back over it with the focus. The X
    server does not lag, so it is asked; elsewhere Qt hears of activation at once."""
    handle = window.windowHandle()
    if handle is None or QGuiApplication.platformName() != "xcb":
        return True
    return x11_focus_on([int(window.winId())]) is not False


def hide_own_windows(excluded: set[int]) -> HiddenWindows | None:
    """Hide every window of ours that a capture would show; None when there is none (minimised, in the
    tray, or kept out of captures by the system). Returns once the display server has processed it."""
    for window in QApplication.topLevelWidgets():
        # A screen reader notification is closed, not hidden and shown again: shown again, it would be
        # read again. (Its object name is set by gui.notification_popup.)
        if window.objectName() == "screen_reader_notification" and window.isVisible():
            window.close()
    windows = windows_to_hide(excluded)
    if not windows:
        return None
    started = time.perf_counter()
    active = QApplication.activeWindow()
    if active is not None and not still_focused(active):
        active = None
    focus = QApplication.focusWidget()  # hiding moves the focus away; it is put back on this one
    for window in windows:
        window.hide()
    # One round trip to the display server (xcb: flush + GetInputFocus): the unmap is done there, not
    # just queued in our connection, before mss (its own connection) grabs the screen.
    QGuiApplication.sync()
    active = active if active in windows else None
    return HiddenWindows(windows, active, started, hide_ms=(time.perf_counter() - started) * 1000.0,
                         focus=focus if active is not None and focus is not None and active.isAncestorOf(focus)
                         else None)


def restore_windows(hidden: HiddenWindows) -> None:
    """Show the hidden windows again. The one the user was in gets the focus back, on the control that
    had it; when the user was in another application, ours come back behind it, without taking the focus.

    Why each step: a re-shown window is activated by the window manager only when asked
    (`activateWindow`), and the screen reader hears of the focus only through the activation followed by
    a focus change inside the window, so the control that had the focus gets it again explicitly (Qt
    would otherwise leave the window active with no focused accessible object, and Tab said nothing).
    A window mapped again lands on top of the stack, covering the user's application: `lower()`."""
    for window in hidden.windows:
        if window is hidden.active:
            continue
        show_without_activating(window)
        window.lower()
    if hidden.active is not None:
        window = hidden.active
        window.show()
        window.raise_()
        _activate(window, hidden.focus)
        # Asked for at once, the activation can come before the window manager has mapped the window again
        # and be ignored (the screen reader then heard of no focus at all): asked again once it is mapped.
        QTimer.singleShot(REACTIVATE_MS, window, lambda: _activate(window, hidden.focus))


def _activate(window: QWidget, focus: QWidget | None) -> None:
    if not window.isVisible():
        return
    window.activateWindow()
    _sync_active_window(window)
    if focus is None or not focus.isVisible():
        focus = window.focusWidget() or window.nextInFocusChain()
    if focus is not None:
        focus.setFocus(Qt.FocusReason.ActiveWindowFocusReason)


def _sync_active_window(window: QWidget) -> None:
    """Tell the widgets layer that `window` is active again when the window system already says so.

    Hiding the active window makes it inactive for QApplication at once, while Qt's X11 plugin waits
    400 ms after the FocusOut before it gives up the focus window: a capture that is back within that
    time (a quiet machine: ~100 ms) gets the FocusIn before then, so the focus window never changed,
    nothing tells QApplication, and the window stays inactive with no focused control. The screen reader
    then hears no activation and no focus, and Tab says nothing. (A slower capture crossed the 400 ms and
    was fine, which is why it passed on busy machines.)"""
    handle = window.windowHandle()
    if handle is None or QApplication.activeWindow() is window or QGuiApplication.focusWindow() is not handle:
        return
    # Deprecated since Qt 6.5 and the only way to resync the widgets layer; a later Qt may drop it,
    # when the plain activation above has to do.
    set_active = getattr(QApplication, "setActiveWindow", None)
    if set_active is not None:
        set_active(window)


class CaptureSession(QObject):
    """Grabs the screen with our windows out of the way.

    `grab(target)` returns at once; then exactly one of `captured(ScreenCapture)` (emitted before our
    windows come back, so the describing starts meanwhile) or `failed(message)` (after they are back: a
    sentence for the user). `restored(HiddenWindows)` follows every restore of hidden windows."""

    captured = Signal(object)
    failed = Signal(str)
    restored = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._excluded: set[int] = set()  # id()s of our windows the system keeps out of captures

    def exclude(self, window: QWidget) -> None:
        """Keep `window` out of captures by the system where it can (Windows), instead of hiding it."""
        if exclude_from_capture(window):
            self._excluded.add(id(window))

    def prepare(self) -> None:
        """Open this (the GUI) thread's screen grabber now: opening it (mss: loading the X11 libraries,
        connecting) took 66 ms under Xvfb, paid by the first hotkey otherwise. A failure here is not
        reported: the first capture reports it, with the reason."""
        try:
            screen.prepare_thread_capturer()
        except Exception:  # noqa: BLE001 - no display yet, no permission...: said on the first capture
            log.info("screen grabber not opened at start", exc_info=True)

    def close(self) -> None:
        screen.close_thread_capturer()

    def grab(self, target: str) -> None:
        hidden = hide_own_windows(self._excluded)
        if hidden is None:
            self._grab(target, None)
        else:
            QTimer.singleShot(HIDE_SETTLE_MS, lambda: self._grab(target, hidden))

    def _grab(self, target: str, hidden: HiddenWindows | None) -> None:
        timings: dict[str, float] = {}
        if hidden is not None:
            # Hotkey path cost of hiding: "hide" = hide + round trip; "hide_wait" = that + the settle wait.
            timings["hide"] = hidden.hide_ms
            timings["hide_wait"] = (time.perf_counter() - hidden.started) * 1000.0
        try:
            result = screen.capture(target)
        except Exception as exc:  # noqa: BLE001 - CaptureError is a sentence; anything else is wrapped
            self._restore(hidden, timings)
            self.failed.emit(user_message(exc, doing=_("The screen could not be captured")))
            return
        if result.near_black:
            self._restore(hidden, timings)
            self.failed.emit(screen.permission_hint())
            return
        timings["capture"] = float(result.elapsed_ms)
        try:
            # A capture is a screen: the worker starts on it at once; our windows come back meanwhile.
            self.captured.emit(ScreenCapture(result.image, _(SOURCE_NAMES.get(result.source, result.source)),
                                             result.note, timings))
        finally:
            self._restore(hidden, timings)

    def _restore(self, hidden: HiddenWindows | None, timings: dict[str, float]) -> None:
        if hidden is None:
            return
        started = time.perf_counter()
        restore_windows(hidden)
        log.info("own windows hidden for the capture: hide %.2f ms, wait %.1f ms, restore %.2f ms",
                 timings["hide"], timings["hide_wait"], (time.perf_counter() - started) * 1000.0)
        self.restored.emit(hidden)
