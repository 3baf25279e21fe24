"""Screen capture: the monitor under the pointer, all monitors, the active window, or a region around the pointer.

Plain Python, no Qt. mss grabs the pixels; they go straight from mss's BGRA buffer into a PIL RGB image
(`Image.frombuffer(..., "raw", "BGRX")`), with no PNG round trip.

Coordinates: everything here is in *screen coordinates as mss reports them* (physical pixels on Linux/X11
and Windows, points on macOS). Monitors may have negative offsets (a monitor left of or above the
primary one). On a HiDPI screen where mss returns more pixels than the monitor has points (macOS Retina),
the image keeps every pixel (better OCR) and `CaptureResult.scale` says how many image pixels make one
screen unit. Pass `pointer=None` to let this module ask the operating system where the pointer is, in
those same coordinates; a Qt caller that passes QCursor.pos() must first map Qt's device-independent
pixels to these (see `map_logical_point`).

Threading contract: capture() may be called from any thread. mss objects are not shareable between
threads, so each thread gets its own, created lazily on first use (in the app: after QApplication exists)
and released with `close_thread_capturer()` when that thread is done.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from PIL import Image

from describe_aloud.engine.capture_platform import active_window_rect, pointer_position
from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.i18n import _

log = logging.getLogger(__name__)

TARGETS = ("monitor_under_pointer", "all_monitors", "active_window", "region_around_pointer")

Box = tuple[int, int, int, int]  # left, top, width, height
Point = tuple[int, int]

# A screen whose mean luminance (0..255, on a downscaled copy) is below this, with no bright spot at all,
# is what a capture without permission looks like: say so instead of describing "a black background".
NEAR_BLACK_MEAN = 6.0
NEAR_BLACK_MAX = 40


class CaptureError(UserFacingError):
    """The screen could not be captured (no display, no permission, a window that vanished...)."""


@dataclass
class CaptureResult:
    image: Image.Image  # RGB
    source: str  # which target was actually captured, e.g. "monitor_under_pointer"
    box: Box  # (left, top, width, height) in screen coordinates
    near_black: bool
    elapsed_ms: float
    note: str | None = None  # why the target differs from the one asked for, when it does
    scale: float = 1.0  # image pixels per screen unit (2.0 on a Retina display)


# --------------------------------------------------------------------------------------------------
# Pure geometry (tested with synthetic monitor lists)
# --------------------------------------------------------------------------------------------------


def monitor_box(monitor: Mapping[str, Any]) -> Box:
    return (int(monitor["left"]), int(monitor["top"]), int(monitor["width"]), int(monitor["height"]))


def box_contains(box: Box, point: Point) -> bool:
    left, top, width, height = box
    x, y = point
    return left <= x < left + width and top <= y < top + height


def _distance_sq(box: Box, point: Point) -> int:
    left, top, width, height = box
    dx = max(left - point[0], 0, point[0] - (left + width - 1))
    dy = max(top - point[1], 0, point[1] - (top + height - 1))
    return dx * dx + dy * dy


def monitor_for_point(monitors: Sequence[Mapping[str, Any]], point: Point | None) -> Mapping[str, Any]:
    """The monitor containing `point`; with no point, the primary one; in a gap between monitors, the nearest.

    `monitors` is a list of physical monitors (mss's list without its entry 0, the union). Offsets may be
    negative: a monitor left of the primary one starts at a negative x.
    """
    if not monitors:
        raise CaptureError(_("No monitor was found to capture."))
    if point is None:
        return next((m for m in monitors if m.get("is_primary")), monitors[0])
    for monitor in monitors:
        if box_contains(monitor_box(monitor), point):
            return monitor
    return min(monitors, key=lambda m: _distance_sq(monitor_box(m), point))


def intersect(a: Box, b: Box) -> Box | None:
    left = max(a[0], b[0])
    top = max(a[1], b[1])
    right = min(a[0] + a[2], b[0] + b[2])
    bottom = min(a[1] + a[3], b[1] + b[3])
    if right <= left or bottom <= top:
        return None
    return (left, top, right - left, bottom - top)


def union_box(boxes: Iterable[Box]) -> Box:
    boxes = list(boxes)
    left = min(b[0] for b in boxes)
    top = min(b[1] for b in boxes)
    right = max(b[0] + b[2] for b in boxes)
    bottom = max(b[1] + b[3] for b in boxes)
    return (left, top, right - left, bottom - top)


def region_around(point: Point, size: tuple[int, int], bounds: Box) -> Box:
    """A `size` box centred on `point`, shifted (not shrunk) to stay inside `bounds` where it fits."""
    width = min(int(size[0]), bounds[2])
    height = min(int(size[1]), bounds[3])
    left = point[0] - width // 2
    top = point[1] - height // 2
    left = max(bounds[0], min(left, bounds[0] + bounds[2] - width))
    top = max(bounds[1], min(top, bounds[1] + bounds[3] - height))
    return (left, top, width, height)


def hidpi_scale(box: Box, image_size: tuple[int, int]) -> float:
    """Image pixels per screen unit: 1.0 normally, 2.0 when mss returns a Retina grab of a box in points."""
    if box[2] <= 0:
        return 1.0
    return round(image_size[0] / box[2], 3)


def map_logical_point(point: tuple[float, float], logical_rect: Box, screen_rect: Box) -> Point:
    """Map a point from a toolkit's device-independent pixels to screen coordinates.

    `logical_rect` is the screen's geometry as the toolkit reports it (Qt: QScreen.geometry()), and
    `screen_rect` the same screen in mss's coordinates (a box from the monitor list). With 150 % scaling on
    Windows, Qt says 1280x720 where mss says 1920x1080; the offsets of both may be negative.
    """
    sx = screen_rect[2] / logical_rect[2] if logical_rect[2] else 1.0
    sy = screen_rect[3] / logical_rect[3] if logical_rect[3] else 1.0
    return (
        int(round(screen_rect[0] + (point[0] - logical_rect[0]) * sx)),
        int(round(screen_rect[1] + (point[1] - logical_rect[1]) * sy)),
    )


def plan_capture(
    target: str,
    monitors_with_union: Sequence[Mapping[str, Any]],
    *,
    pointer: Point | None,
    region_size: tuple[int, int] = (800, 600),
    window_rect: Box | None = None,
) -> tuple[str, Box, str | None]:
    """Decide what to grab: (source actually used, box, note). Pure: no screen access.

    `monitors_with_union` is mss's list: entry 0 is the union of all monitors, then one entry per monitor.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown capture target {target!r}; expected one of {', '.join(TARGETS)}")
    if not monitors_with_union:
        raise CaptureError(_("No monitor was found to capture."))
    union = monitor_box(monitors_with_union[0])
    physical = list(monitors_with_union[1:]) or [monitors_with_union[0]]

    if target == "all_monitors":
        return "all_monitors", union, None
    monitor = monitor_box(monitor_for_point(physical, pointer))
    if target == "monitor_under_pointer":
        return "monitor_under_pointer", monitor, None
    if target == "region_around_pointer":
        centre = pointer if pointer is not None else (monitor[0] + monitor[2] // 2, monitor[1] + monitor[3] // 2)
        return "region_around_pointer", region_around(centre, region_size, monitor), None
    # active_window
    if window_rect is not None:
        visible = intersect(tuple(int(v) for v in window_rect), union)  # type: ignore[arg-type]
        if visible is not None:
            return "active_window", visible, None
        note = _("The active window is off screen, so the whole screen was described instead.")
    else:
        note = _("The active window could not be found, so the whole screen was described instead.")
    return "monitor_under_pointer", monitor, note


# --------------------------------------------------------------------------------------------------
# Pixels
# --------------------------------------------------------------------------------------------------


def shot_to_image(raw: bytes | bytearray | memoryview, size: tuple[int, int]) -> Image.Image:
    """mss's BGRA buffer -> PIL RGB image, in one C-level conversion (no PNG, no numpy copy)."""
    return Image.frombuffer("RGB", size, raw, "raw", "BGRX", 0, 1)


def is_near_black(image: Image.Image) -> bool:
    """True for an (almost) entirely black image: what capture without permission returns.

    Measured on a small copy (fast on a 4K screen); a dark theme with any readable text has bright pixels,
    so it is not flagged.
    """
    factor = max(1, max(image.size) // 256)
    small = image.reduce(factor) if factor > 1 else image  # box average: a new, small image
    gray = small.convert("L")
    histogram = gray.histogram()
    total = sum(histogram) or 1
    mean = sum(value * count for value, count in enumerate(histogram)) / total
    brightest = max((value for value, count in enumerate(histogram) if count), default=0)
    return mean < NEAR_BLACK_MEAN and brightest < NEAR_BLACK_MAX


def is_wayland_session(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("XDG_SESSION_TYPE", "").lower() == "wayland" or bool(env.get("WAYLAND_DISPLAY"))


def permission_hint(platform: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """One sentence telling the user why the capture is black and how to fix it, for this platform."""
    platform = platform or sys.platform
    if platform == "darwin":
        return (
            _("macOS is blocking screen capture. Open System Settings, Privacy & Security, Screen Recording, "
            "turn it on for Describe Aloud (or for the Terminal or Python you started it from), "
            "then quit and restart the app.")
        )
    if platform.startswith("win"):
        return (
            _("Windows returned a black screen. This happens on the sign-in screen, during a security prompt "
            "or with protected video; try again once it has closed.")
        )
    if is_wayland_session(environ):
        return (
            _("This is a Wayland session, which hides other apps' windows from screen capture. "
            "Choose an X11 (Xorg) session on the login screen, then try again.")
        )
    return (
        _("The screen came back black. If the screen is locked, asleep or a screensaver is running, "
        "wake or unlock it and try again.")
    )


# --------------------------------------------------------------------------------------------------
# Per-thread mss, pointer and active window from the operating system
# --------------------------------------------------------------------------------------------------

_local = threading.local()


def _capturer():
    sct = getattr(_local, "sct", None)
    display = os.environ.get("DISPLAY")
    if sct is not None and getattr(_local, "display", None) != display:
        close_thread_capturer()  # opened for another display (a new session's X server): not usable here
        sct = None
    if sct is None:
        import mss

        try:
            sct = mss.MSS()
        except Exception as exc:  # mss raises ScreenShotError, or OSError when no X server is reachable
            raise CaptureError(_no_screen_message(exc)) from exc
        _local.sct, _local.display = sct, display
    return sct


def _current_monitors() -> tuple[Any, list[dict[str, Any]]]:
    """The monitor layout now, not when this thread's mss was created.

    mss caches its monitor list for the life of the instance, but the app keeps one instance for hours
    while monitors are plugged, unplugged or rearranged. Re-reading costs about 0.4 ms (XRandR), so the
    cache is dropped on every capture (`_monitors` is mss's private cache; if a future mss renames it,
    the instance is recreated instead).
    """
    sct = _capturer()
    if hasattr(sct, "_monitors"):
        sct._monitors = None
        return sct, sct.monitors
    close_thread_capturer()
    sct = _capturer()
    return sct, sct.monitors


def prepare_thread_capturer() -> None:
    """Open this thread's screen grabber now rather than on its first capture (opening mss loads the X11
    libraries and connects: tens of milliseconds). Raises CaptureError when there is no screen to open."""
    _capturer()


def close_thread_capturer() -> None:
    """Release this thread's mss instance (call when a capturing thread ends, or at app exit)."""
    sct = getattr(_local, "sct", None)
    if sct is not None:
        _local.sct = None
        try:
            sct.close()
        except Exception:  # noqa: BLE001 - its connection is already gone: nothing left to release
            log.debug("closing a broken screen grabber", exc_info=True)


def _no_screen_message(exc: Exception) -> str:
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        if is_wayland_session():
            return _("The screen cannot be captured. {permission_hint}").format(permission_hint=permission_hint())
        return _("The screen cannot be captured: no graphical display was found (DISPLAY is not set).")
    return _("The screen could not be captured ({reason}).").format(reason=exc)


# --------------------------------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------------------------------


def capture(
    target: str = "monitor_under_pointer",
    *,
    pointer: Point | None = None,
    region_size: tuple[int, int] = (800, 600),
    window_rect: Box | None = None,
) -> CaptureResult:
    """Grab `target` and return it as an RGB PIL image, with where it came from and how long it took.

    `pointer` and `window_rect` are in screen coordinates (see the module docstring); when None they are
    asked from the operating system. Raises CaptureError (a UserFacingError) when nothing can be captured.
    A black capture is not an error: `near_black` is set and `permission_hint()` says what to do.
    """
    start = time.perf_counter()
    try:
        sct, monitors = _current_monitors()
    except CaptureError:
        raise
    except Exception:
        # This thread's connection broke since its last capture (the X server restarted): one fresh try.
        close_thread_capturer()
        try:
            sct, monitors = _current_monitors()
        except CaptureError:
            raise
        except Exception as exc:
            raise CaptureError(_no_screen_message(exc)) from exc
    if pointer is None and target != "all_monitors":
        pointer = pointer_position()
    if target == "active_window" and window_rect is None:
        window_rect = active_window_rect()
    source, box, note = plan_capture(target, monitors, pointer=pointer, region_size=region_size,
                                     window_rect=window_rect)
    try:
        shot = sct.grab({"left": box[0], "top": box[1], "width": box[2], "height": box[3]})
    except Exception as exc:
        close_thread_capturer()  # a broken connection must not break every later capture too
        raise CaptureError(_no_screen_message(exc)) from exc
    image = shot_to_image(shot.raw, tuple(shot.size))
    near_black = is_near_black(image)
    elapsed_ms = (time.perf_counter() - start) * 1000.0
    log.debug("captured %s %s in %.1f ms", source, box, elapsed_ms)
    return CaptureResult(image=image, source=source, box=box, near_black=near_black, elapsed_ms=elapsed_ms,
                         note=note, scale=hidpi_scale(box, image.size))
