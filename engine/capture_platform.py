"""Asking the operating system where the pointer is and which window is active, in the screen coordinates
mss uses (X11 through Xlib / xdotool, Windows through user32, macOS through Quartz). Each answer may be
None where the platform cannot say; the capture then falls back to the whole monitor, with a note."""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable

log = logging.getLogger(__name__)

Point = tuple[int, int]
Box = tuple[int, int, int, int]  # left, top, width, height (as engine.capture)
POINTER_ROOT = 1  # X11's focus value "PointerRoot" (0 is "None": nobody has the focus)


def pointer_position() -> Point | None:
    """Where the mouse pointer is, in screen coordinates, or None where it cannot be asked."""
    try:
        if sys.platform.startswith("win"):
            return _pointer_windows()
        if sys.platform == "darwin":
            return _pointer_macos()
        if os.environ.get("DISPLAY"):
            return _pointer_x11()
    except Exception as exc:  # a missing library or display must not stop the capture: use the primary
        log.debug("pointer position unavailable: %s", exc)
    return None


class _XPointerLib:
    """Xlib's XQueryPointer through ctypes (no python-xlib connection setup cost on the hotkey path)."""

    _lib = None

    @classmethod
    def lib(cls):
        if cls._lib is None:
            name = ctypes.util.find_library("X11") or "libX11.so.6"
            lib = ctypes.cdll.LoadLibrary(name)
            lib.XOpenDisplay.restype = ctypes.c_void_p
            lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
            lib.XDefaultRootWindow.restype = ctypes.c_ulong
            lib.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
            lib.XCloseDisplay.argtypes = [ctypes.c_void_p]
            c_ulong_p = ctypes.POINTER(ctypes.c_ulong)
            c_int_p = ctypes.POINTER(ctypes.c_int)
            c_uint_p = ctypes.POINTER(ctypes.c_uint)
            lib.XQueryPointer.argtypes = [ctypes.c_void_p, ctypes.c_ulong, c_ulong_p, c_ulong_p, c_int_p,
                                          c_int_p, c_int_p, c_int_p, c_uint_p]
            lib.XQueryPointer.restype = ctypes.c_int
            lib.XGetInputFocus.argtypes = [ctypes.c_void_p, c_ulong_p, c_int_p]
            lib.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong, c_ulong_p, c_ulong_p,
                                       ctypes.POINTER(c_ulong_p), c_uint_p]
            lib.XQueryTree.restype = ctypes.c_int
            lib.XFree.argtypes = [ctypes.c_void_p]
            cls._lib = lib
        return cls._lib


def _pointer_x11() -> Point | None:
    lib = _XPointerLib.lib()
    display = lib.XOpenDisplay(None)
    if not display:
        return None
    try:
        root = lib.XDefaultRootWindow(display)
        root_ret, child = ctypes.c_ulong(), ctypes.c_ulong()
        rx, ry, wx, wy = ctypes.c_int(), ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        mask = ctypes.c_uint()
        ok = lib.XQueryPointer(display, root, ctypes.byref(root_ret), ctypes.byref(child), ctypes.byref(rx),
                               ctypes.byref(ry), ctypes.byref(wx), ctypes.byref(wy), ctypes.byref(mask))
        return (rx.value, ry.value) if ok else None
    finally:
        lib.XCloseDisplay(display)


def x11_focus_on(windows: Iterable[int]) -> bool | None:
    """On X11: whether the keyboard focus is on one of `windows` (X window ids of ours) or on a window
    manager's frame around one; None where X11 cannot be asked (another system, no display).

    A toolkit's own idea of "our window is active" can lag the X server: Qt waits 400 ms after a FocusOut
    for a FocusIn to another of its windows before it lets go. The X server's answer does not lag.
    Only our windows and the frames above them are walked (XQueryTree), never the focused window's own
    ancestry; still, a frame may vanish meanwhile (a window manager restarting), and Xlib's default answer
    to that error is to end the process, so errors are ignored while asking (`_XErrorsIgnored`)."""
    ids = [window for window in windows if window]
    if not ids or not (sys.platform.startswith("linux") and os.environ.get("DISPLAY")):
        return None
    try:
        lib = _XPointerLib.lib()
    except OSError as exc:
        log.debug("libX11 unavailable: %s", exc)
        return None
    display = lib.XOpenDisplay(None)
    if not display:
        return None
    try:
        with _XErrorsIgnored(lib):
            focus, revert = ctypes.c_ulong(), ctypes.c_int()
            lib.XGetInputFocus(display, ctypes.byref(focus), ctypes.byref(revert))
            if focus.value == POINTER_ROOT:  # the keys go to whatever is under the pointer: no clear answer
                return None
            return focus.value in _with_frames(lib, display, ids)
    finally:
        lib.XCloseDisplay(display)


_X_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
_IGNORE_X_ERROR = _X_ERROR_HANDLER(lambda display, event: 0)  # kept alive: Xlib holds a pointer to it


class _XErrorsIgnored:
    """Xlib's error handler set to one that ignores errors for the block, then given back. The handler is
    per process: used only on the thread that owns the X work (the GUI thread), for a few round trips."""

    def __init__(self, lib) -> None:  # noqa: ANN001 - the ctypes libX11
        self.lib = lib
        self.previous = None

    def __enter__(self) -> None:
        self.lib.XSetErrorHandler.restype = ctypes.c_void_p
        self.lib.XSetErrorHandler.argtypes = [ctypes.c_void_p]
        self.previous = self.lib.XSetErrorHandler(ctypes.cast(_IGNORE_X_ERROR, ctypes.c_void_p))

    def __exit__(self, *exc: object) -> None:
        self.lib.XSetErrorHandler(self.previous)


def _with_frames(lib, display, ids: list[int]) -> set[int]:
    """`ids` and their ancestors below the root (a reparenting window manager's frames)."""
    ours: set[int] = set()
    for window in ids:
        while window and window not in ours and len(ours) < 256:
            ours.add(window)
            root, parent = ctypes.c_ulong(), ctypes.c_ulong()
            children = ctypes.POINTER(ctypes.c_ulong)()
            count = ctypes.c_uint()
            if not lib.XQueryTree(display, window, ctypes.byref(root), ctypes.byref(parent),
                                  ctypes.byref(children), ctypes.byref(count)):
                break
            if children:
                lib.XFree(children)
            window = parent.value if parent.value != root.value else 0
    return ours


def _pointer_windows() -> Point | None:
    class POINT(ctypes.Structure):
        _fields_ = [("x", ctypes.c_long), ("y", ctypes.c_long)]

    point = POINT()
    user32 = ctypes.windll.user32  # type: ignore[attr-defined]
    # mss makes the process DPI aware, so this is in physical pixels like mss's monitors.
    if user32.GetCursorPos(ctypes.byref(point)):
        return (point.x, point.y)
    return None


def _pointer_macos() -> Point | None:
    class CGPoint(ctypes.Structure):
        _fields_ = [("x", ctypes.c_double), ("y", ctypes.c_double)]

    quartz = ctypes.cdll.LoadLibrary(ctypes.util.find_library("ApplicationServices") or
                                     "/System/Library/Frameworks/ApplicationServices.framework/ApplicationServices")
    quartz.CGEventCreate.restype = ctypes.c_void_p
    quartz.CGEventCreate.argtypes = [ctypes.c_void_p]
    quartz.CGEventGetLocation.restype = CGPoint
    quartz.CGEventGetLocation.argtypes = [ctypes.c_void_p]
    quartz.CFRelease.argtypes = [ctypes.c_void_p]
    event = quartz.CGEventCreate(None)
    try:
        location = quartz.CGEventGetLocation(event)  # points, like mss's macOS monitors
        return (int(location.x), int(location.y))
    finally:
        quartz.CFRelease(event)


def active_window_rect() -> Box | None:
    """The active (focused) top-level window's outer rectangle in screen coordinates, or None if unknown."""
    try:
        if sys.platform.startswith("win"):
            return _active_window_windows()
        if sys.platform.startswith("linux") and os.environ.get("DISPLAY"):
            return _active_window_x11()
    except Exception as exc:  # the fallback (whole monitor, with a note) is better than no description
        log.debug("active window unavailable: %s", exc)
    # macOS needs pyobjc's Quartz window list, not a dependency here: the caller falls back to the monitor.
    return None


def _active_window_x11() -> Box | None:
    try:
        from Xlib import X, display as xdisplay  # python-xlib, installed with pynput on Linux
    except ImportError:
        return _active_window_xdotool()
    dpy = xdisplay.Display()
    try:
        root = dpy.screen().root
        window = None
        active = root.get_full_property(dpy.intern_atom("_NET_ACTIVE_WINDOW"), X.AnyPropertyType)
        if active is not None and active.value and active.value[0]:
            window = dpy.create_resource_object("window", active.value[0])
        else:
            focus = dpy.get_input_focus().focus
            if isinstance(focus, int) or focus in (X.NONE, X.PointerRoot) or focus == root:
                return None
            window = focus
        # Walk up to the root's direct child: that is the window including the window manager's frame.
        while True:
            tree = window.query_tree()
            if tree.parent == root or tree.parent in (0, X.NONE):
                break
            window = tree.parent
        geometry = window.get_geometry()
        origin = window.translate_coords(root, 0, 0)
        left, top = -origin.x, -origin.y
        border = geometry.border_width
        return (left - border, top - border, geometry.width + 2 * border, geometry.height + 2 * border)
    finally:
        dpy.close()


def _active_window_xdotool() -> Box | None:
    if not shutil.which("xdotool"):
        return None
    out = subprocess.run(["xdotool", "getactivewindow", "getwindowgeometry", "--shell"], capture_output=True,
                         text=True, timeout=2)
    if out.returncode != 0:
        return None
    values = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    return (int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"]))


def _active_window_windows() -> Box | None:
    class RECT(ctypes.Structure):
        _fields_ = [("left", ctypes.c_long), ("top", ctypes.c_long), ("right", ctypes.c_long),
                    ("bottom", ctypes.c_long)]

    user32 = ctypes.windll.user32  # type: ignore[attr-defined]
    hwnd = user32.GetForegroundWindow()
    if not hwnd:
        return None
    rect = RECT()
    try:
        # The visible frame, without Windows 10/11's invisible resize borders.
        dwmapi = ctypes.windll.dwmapi  # type: ignore[attr-defined]
        DWMWA_EXTENDED_FRAME_BOUNDS = 9
        if dwmapi.DwmGetWindowAttribute(hwnd, DWMWA_EXTENDED_FRAME_BOUNDS, ctypes.byref(rect),
                                        ctypes.sizeof(rect)) != 0:
            raise OSError("DwmGetWindowAttribute failed")
    except (OSError, AttributeError):
        if not user32.GetWindowRect(hwnd, ctypes.byref(rect)):
            return None
    return (rect.left, rect.top, rect.right - rect.left, rect.bottom - rect.top)
