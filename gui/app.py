"""The desktop app: QApplication setup and the AppController that wires window, worker, speech and hotkeys.

Flow of a hotkey: HotkeyManager / InstanceServer / window action -> `AppController.dispatch(action)` ->
"capturing" earcon -> capture on the GUI thread (mss; the app's own visible windows hidden first, then
shown again without taking the focus from the user's application) -> the PIL image goes to the
DescribeWorker (as a "screen": text first) -> `job_partial` (the read text, spoken at once) -> `job_result`
-> history + result view + the rest of the speech + "done" earcon. Errors -> shown, announced, spoken, "error" earcon. A near-black capture is not described:
the user hears how to grant screen-capture permission instead.

Threading contract: the AppController lives in the GUI thread and only ever runs there. It never runs a
model (the worker does) and never waits on speech (Speaker.say is non-blocking; its callbacks, which come
from a speech thread, are re-emitted as Qt signals and so arrive queued in the GUI thread).
"""
from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from describe_aloud.engine import render
from describe_aloud.engine.config import Settings
from describe_aloud.engine.history import HistoryStore
from describe_aloud.engine.invocation import user_command
from describe_aloud.gui.main_window import ACTION_SPECS, APP_TITLE, MainWindow, shortcut_text
from describe_aloud.gui.worker import DescribeJob, DescribeWorker, JobPartial, JobResult

log = logging.getLogger(__name__)

# Hotkey / IPC action -> engine.capture target.
CAPTURE_TARGETS = {
    "describe_screen": "monitor_under_pointer",
    "describe_window": "active_window",
    "describe_region": "region_around_pointer",
    "describe_all_monitors": "all_monitors",
}
SOURCE_NAMES = {
    "monitor_under_pointer": "screen",
    "active_window": "active window",
    "region_around_pointer": "region around the pointer",
    "all_monitors": "all monitors",
}
HOTKEY_REPORT_DELAY_MS = 300
# After our windows are hidden and the display server has processed that (one round trip, well under
# 1 ms locally), whatever they covered must be repainted before the capture: by a compositor (one or two
# frames at 60 Hz) or by the applications underneath (an X11 desktop without compositing). Measured
# under Xvfb: uncovered pixels are there on the first grab, 3-8 ms after the hide.
HIDE_SETTLE_MS = 40
# Windows 10 2004+: SetWindowDisplayAffinity(WDA_EXCLUDEFROMCAPTURE) keeps a window out of every capture
# while it stays on the screen, so there is nothing to hide and nothing to wait for.
WDA_EXCLUDEFROMCAPTURE = 0x11
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.gif *.tif *.tiff *.heic *.heif);;All files (*)"


class _NullSpeaker:
    """Used only when the speech module cannot be loaded at all: the app still shows every result and
    announces it to the screen reader, and the status line says why our voice is silent."""

    def say(self, text: str, interrupt: bool = True) -> None:
        log.info("(no voice) %s", text)

    def stop(self) -> None: ...

    def repeat(self) -> None: ...

    def voices(self) -> list:
        return []

    def set_voice(self, voice) -> None: ...

    def set_rate(self, rate) -> None: ...

    def set_volume(self, volume) -> None: ...

    def close(self) -> None: ...


class SpeechBridge(QObject):
    """Re-emits the Speaker's callbacks (called on a speech thread) as signals handled in the GUI thread."""

    speech_started = Signal()
    speech_finished = Signal()
    speech_error = Signal(str)

    def on_started(self, *args: Any) -> None:
        self.speech_started.emit()

    def on_finished(self, *args: Any) -> None:
        self.speech_finished.emit()

    def on_error(self, *args: Any) -> None:
        message = next((str(a) for a in args if a), "Speech failed.")
        self.speech_error.emit(message)


SpeakerFactory = Callable[[Settings, SpeechBridge], Any]


def default_speaker_factory(settings: Settings, bridge: SpeechBridge):
    from describe_aloud.engine.speech import create_speaker

    return create_speaker(settings, on_started=bridge.on_started, on_finished=bridge.on_finished,
                          on_error=bridge.on_error)


@dataclass
class HiddenWindows:
    """Our windows hidden for one capture, to be shown again afterwards (`AppController._restore`)."""

    windows: list[QWidget]
    active: QWidget | None  # the one that had the focus (it gets it back); None: another application had it
    started: float  # perf_counter() when hiding began
    hide_ms: float = 0.0  # hiding them + the display server round trip


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


@dataclass
class LastResult:
    """What "repeat", "copy" and "more detail" work on."""

    rendering: render.Rendering  # what was said and shown, more detail included
    image: Any
    source: str
    history_id: int | None

    @property
    def text(self) -> str:
        return self.rendering.speech


def qimage_to_pil(image: QImage):
    """A QImage (pasted or dropped) as an RGB PIL image, alpha composited on white like a viewer."""
    from PIL import Image

    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    width, height = rgba.width(), rgba.height()
    data = bytes(rgba.constBits())[: rgba.bytesPerLine() * height]
    pil = Image.frombuffer("RGBA", (width, height), data, "raw", "RGBA", rgba.bytesPerLine(), 1)
    try:
        from describe_aloud.engine.images import to_rgb

        return to_rgb(pil)
    except ImportError:  # pragma: no cover - engine.images is part of the engine
        return pil.convert("RGB")


class AppController(QObject):
    """Owns every part of the running app. Create after QApplication; call `shutdown()` before exit."""

    quit_requested = Signal()

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        model_override: str | None = None,
        precision_override: str | None = None,
        speaker_factory: SpeakerFactory | None = None,
        enable_hotkeys: bool = True,
        enable_single_instance: bool = True,
        instance_server: Any = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings or Settings.load()
        self.model_override = model_override
        self.precision_override = precision_override
        self.last: LastResult | None = None
        self.history_dialog = None
        self.batch_dialog = None
        self.model_state = "loading"  # "loading" / "ready" / "failed": said when a request has to wait
        self._dropped_files = 0
        self._hotkey_failures: list[tuple[str, str, str]] = []
        self._shut_down = False
        self._speaker_factory = speaker_factory or default_speaker_factory
        self._speech_problem: str | None = None
        self._capture_excluded: set[int] = set()  # id()s of our windows the system keeps out of captures
        # Job id -> what was already spoken for it (a screen's text), or None when the user stopped the
        # speech since: the rest of that description is then not spoken either.
        self._spoken_early: dict[int, render.Rendering | None] = {}

        self._history_problem: str | None = None
        self.history = self._open_history()
        self.window = MainWindow()
        self.bridge = SpeechBridge(self)
        self.speaker = self._create_speaker()
        self.earcons = self._create_earcons()
        self.worker = DescribeWorker(
            self.model_spec, detail_model=self.settings.detail_model, precision=self.precision,
            screen_size=primary_screen_pixels(), parent=self,
        )
        self.tray = self._create_tray()
        self.hotkeys = self._create_hotkeys() if enable_hotkeys else None
        self.instance_server = instance_server
        if self.instance_server is None and enable_single_instance:
            self.instance_server = self._create_instance_server()
        self._connect()

    # Construction --------------------------------------------------------------------------------
    @property
    def model_spec(self) -> str:
        return self.model_override or self.settings.model

    @property
    def precision(self) -> str:
        return self.precision_override or self.settings.precision

    def _open_history(self) -> HistoryStore:
        try:
            return HistoryStore()
        except Exception as exc:  # noqa: BLE001 - describing matters more than remembering
            log.warning("history unavailable: %s", exc, exc_info=True)
            self._history_problem = f"The history cannot be saved ({exc}); it is kept until the app closes."
            return HistoryStore(Path(":memory:"))

    def _record(self, description, job: DescribeJob, thumbnail: bytes | None,
                rendering: render.Rendering) -> int | None:
        """Add to the history; a failure (disk full...) is reported but never costs the description."""
        try:
            return self.history.add(description, source=job.source, thumbnail=thumbnail, rendering=rendering).id
        except Exception as exc:  # noqa: BLE001 - sqlite3.Error, OSError: say it, go on
            log.warning("history write failed: %s", exc, exc_info=True)
            self.window.set_status(f"This description could not be added to the history: {exc}", assertive=True)
            return None

    def _create_speaker(self):
        try:
            return self._speaker_factory(self.settings, self.bridge)
        except Exception as exc:  # noqa: BLE001 - the app must start even when speech cannot
            log.warning("speech unavailable: %s", exc, exc_info=True)
            self._speech_problem = str(exc) or "Speech could not be started."
            return _NullSpeaker()

    def _create_earcons(self):
        try:
            from describe_aloud.gui.earcons import Earcons
        except ImportError:
            return None
        try:
            return Earcons(self.settings.earcons)
        except Exception:  # noqa: BLE001 - sounds are a nicety; speech and text still report everything
            log.warning("earcons unavailable", exc_info=True)
            return None

    def _create_tray(self):
        from describe_aloud.gui.tray import TrayIcon

        if not TrayIcon.available():
            return None
        tray = TrayIcon(self.window.actions_by_name, self.window)
        self.attach_tray(tray)
        tray.show()
        return tray

    def attach_tray(self, tray) -> None:
        """Use `tray` as the app's tray icon (its menu holds the window's actions already)."""
        self.tray = tray
        tray.show_requested.connect(self.show_window)

    def _create_hotkeys(self):
        try:
            from describe_aloud.gui.hotkeys import HotkeyManager
        except ImportError:
            return None
        manager = HotkeyManager(self)
        manager.activated.connect(self.dispatch)
        manager.registration_failed.connect(self._hotkey_failed)
        return manager

    def _create_instance_server(self):
        try:
            from describe_aloud.gui.single_instance import InstanceServer
        except ImportError:
            return None
        server = InstanceServer(self)
        server.command_received.connect(self.handle_command)
        if not server.start():
            log.warning("single-instance server did not start")
        return server

    def _connect(self) -> None:
        w = self.worker
        w.status.connect(self._worker_status)
        w.model_ready.connect(self._model_ready)
        w.model_failed.connect(self._model_failed)
        w.job_started.connect(self._job_started)
        w.job_progress.connect(self._job_partial)
        w.job_result.connect(self._job_result)
        w.job_error.connect(self._job_error)
        w.job_dropped.connect(self._job_dropped)
        self.bridge.speech_error.connect(lambda m: self.window.set_status(m, assertive=True))
        self.window.files_dropped.connect(self.describe_paths)
        self.window.image_dropped.connect(lambda img: self.describe_qimage(img, "dropped image"))
        self.window.close_requested.connect(self._close_requested)

        handlers: dict[str, Callable[[], None]] = {
            "open_image": self.open_images,
            "paste": self.paste,
            "describe_folder": self.describe_folder,
            "quit": self.quit,
            "more_detail": self.more_detail,
            "repeat": self.repeat,
            "stop_speech": self.stop_speech,
            "copy": self.copy_description,
            "history": self.show_history,
            "settings": self.show_settings,
            "shortcuts": self.show_shortcuts,
            "show": self.show_window,
            "describe_clipboard": self.paste,
        }
        for action in CAPTURE_TARGETS:
            handlers[action] = lambda a=action: self.capture_and_describe(a)
        for name, handler in handlers.items():
            self.window.action(name).triggered.connect(lambda _checked=False, h=handler: h())

    # Start and stop ------------------------------------------------------------------------------
    def start(self, *, show: bool | None = None) -> None:
        """Show the window (unless starting minimised to a tray), start the worker and the hotkeys."""
        if show is None:
            show = not (self.settings.start_minimised and self.tray is not None)
        if show:
            self.window.show()
        if exclude_from_capture(self.window):
            self._capture_excluded.add(id(self.window))
        self.window.set_status("Starting…")
        if self._speech_problem:
            self.window.set_status(f"Speech is off: {self._speech_problem}", assertive=True)
        if self._history_problem:
            self.window.set_status(self._history_problem, assertive=True)
        self.worker.start()
        self._prepare_capture()
        if self.hotkeys is not None:
            self.hotkeys.apply(self.settings.hotkeys)

    def _prepare_capture(self) -> None:
        """Import the capture module and open this (the GUI) thread's screen grabber now: opening it
        (mss: loading the X11 libraries, connecting) took 66 ms under Xvfb, paid by the first hotkey
        otherwise. A failure here is not reported: the first capture reports it, with the reason."""
        try:
            import describe_aloud.engine.capture as capture_module
        except ImportError:
            log.warning("screen capture is not available", exc_info=True)
            return
        # engine.capture has no public warm-up yet; its per-thread grabber is what the first capture makes.
        open_grabber = getattr(capture_module, "_capturer", None)
        if open_grabber is not None:
            try:
                open_grabber()
            except Exception:  # noqa: BLE001 - no display yet, no permission...: said on the first capture
                log.info("screen grabber not opened at start", exc_info=True)

    def shutdown(self) -> None:
        """Stop every thread and close every file. Idempotent; called on quit."""
        if self._shut_down:
            return
        self._shut_down = True
        if self.hotkeys is not None:
            self.hotkeys.stop()
        if self.instance_server is not None:
            self.instance_server.close()
        if self.batch_dialog is not None:
            self.batch_dialog.shutdown()
        self.worker.stop()
        if self.worker.isRunning() and not self.worker.wait(60_000):
            log.error("describe worker did not stop within 60 s")
        try:
            self.speaker.close()
        except Exception:  # noqa: BLE001 - closing must go on for the rest
            log.warning("closing speech failed", exc_info=True)
        if self.earcons is not None:
            self.earcons.close()
        if self.tray is not None:
            self.tray.hide()
        self.history.close()
        try:
            from describe_aloud.engine.capture import close_thread_capturer

            close_thread_capturer()
        except ImportError:
            pass

    def quit(self) -> None:
        self.window.quitting = True
        self.shutdown()
        self.window.close()
        self.quit_requested.emit()
        app = QApplication.instance()
        if app is not None:
            app.quit()

    # Commands that come from outside: hotkeys and the single-instance socket ---------------------
    def handle_command(self, command: str) -> None:
        self.dispatch(command)

    def dispatch(self, action: str) -> None:
        """Run a hotkey / socket action by name ("describe_screen" or "describe-screen")."""
        action = action.strip().replace("-", "_")
        if action in CAPTURE_TARGETS:
            self.capture_and_describe(action)
        elif action in ("describe_clipboard", "paste"):
            self.paste()
        elif action == "stop_speech":
            self.stop_speech()
        elif action == "repeat":
            self.repeat()
        elif action == "more_detail":
            self.more_detail()
        elif action == "show":
            self.show_window()
        elif action == "quit":
            self.quit()
        else:
            log.warning("unknown command %r", action)

    # Describing ----------------------------------------------------------------------------------
    def describe_image(self, image, source: str, *, interrupt: bool = True,
                       timings_ms: dict[str, float] | None = None, kind_hint: str | None = None) -> DescribeJob:
        """Hand a PIL image to the worker (newest request wins). kind_hint="screen" for captures."""
        self._say_if_waiting_for_model()
        return self.worker.submit(
            DescribeJob(source=source, image=image, detail=self.settings.detail, interrupt=interrupt,
                        timings_ms=dict(timings_ms or {}), kind_hint=kind_hint)
        )

    def describe_qimage(self, image: QImage, source: str) -> None:
        self.describe_image(qimage_to_pil(image), source)

    def describe_paths(self, paths: list[str]) -> None:
        """Describe dropped / opened files, one after the other; each is spoken in turn."""
        folders = [p for p in paths if Path(p).is_dir()]
        paths = [p for p in paths if not Path(p).is_dir()]
        if folders:
            # A dropped folder is a batch: open Describe folder with it filled in.
            self.describe_folder(folders[0])
        if not paths:
            return
        jobs = [
            DescribeJob(source=str(p), path=Path(p), detail=self.settings.detail, interrupt=(i == 0))
            for i, p in enumerate(paths)
        ]
        self._say_if_waiting_for_model()
        submitted = self.worker.submit_many(jobs)
        if len(submitted) > 1:
            self.window.set_status(f"Describing {len(submitted)} images…")
        if len(submitted) < len(jobs):
            self.window.set_status(
                f"Only the first {len(submitted)} of {len(jobs)} files are described; "
                "use Describe folder for more.", assertive=True)

    def capture_and_describe(self, action: str) -> None:
        """Play the capturing earcon, hide our visible windows (a description of the screen must not read
        our own menus and buttons), capture, show them again, describe."""
        target = CAPTURE_TARGETS[action]
        self._earcon("capturing")
        self.window.set_status("Capturing…")
        hidden = self._hide_own_windows()
        if hidden is None:
            self._capture(target, None)
        else:
            QTimer.singleShot(HIDE_SETTLE_MS, lambda: self._capture(target, hidden))

    def _hide_own_windows(self) -> HiddenWindows | None:
        """Hide every window of ours that a capture would show; None when there is none (minimised, in the
        tray, or kept out of captures by the system). Returns once the display server has processed it."""
        windows = windows_to_hide(self._capture_excluded)
        if not windows:
            return None
        started = time.perf_counter()
        active = QApplication.activeWindow()
        for window in windows:
            window.hide()
        # One round trip to the display server (xcb: flush + GetInputFocus): the unmap is done there, not
        # just queued in our connection, before mss (its own connection) grabs the screen.
        QGuiApplication.sync()
        return HiddenWindows(windows, active if active in windows else None, started,
                             hide_ms=(time.perf_counter() - started) * 1000.0)

    def _restore(self, hidden: HiddenWindows) -> None:
        """Show the hidden windows again. The one the user was in gets the focus back; when the user was
        in another application, ours come back without taking the focus from it."""
        for window in hidden.windows:
            if window is hidden.active:
                continue
            show_without_activating(window)
        if hidden.active is not None:
            hidden.active.show()
            hidden.active.raise_()
            hidden.active.activateWindow()

    def _capture(self, target: str, hidden: HiddenWindows | None) -> None:
        timings: dict[str, float] = {}
        if hidden is not None:
            # Hotkey path cost of hiding: "hide" = hide + round trip; "hide_wait" = that + the settle wait.
            timings["hide"] = hidden.hide_ms
            timings["hide_wait"] = (time.perf_counter() - hidden.started) * 1000.0
        try:
            from describe_aloud.engine.capture import capture, permission_hint

            result = capture(target)
        except Exception as exc:  # noqa: BLE001 - CaptureError is a sentence; anything else is wrapped
            from describe_aloud.engine.errors import UserFacingError

            self._restore_after_capture(hidden, timings)
            message = str(exc) if isinstance(exc, UserFacingError) else f"The screen could not be captured: {exc}"
            self._report_error(message)
            return
        if result.near_black:
            self._restore_after_capture(hidden, timings)
            self._report_error(permission_hint())
            return
        try:
            source = SOURCE_NAMES.get(result.source, result.source)
            if result.note:
                self.window.set_status(result.note)
            timings["capture"] = float(result.elapsed_ms)
            # A capture is a screen: its text is read first and spoken before the caption is ready. The
            # worker starts on it at once; our windows come back meanwhile.
            self.describe_image(result.image, source, timings_ms=timings, kind_hint="screen")
        finally:
            self._restore_after_capture(hidden, timings)

    def _restore_after_capture(self, hidden: HiddenWindows | None, timings: dict[str, float]) -> None:
        if hidden is None:
            return
        started = time.perf_counter()
        self._restore(hidden)
        log.info("own windows hidden for the capture: hide %.2f ms, wait %.1f ms, restore %.2f ms",
                 timings["hide"], timings["hide_wait"], (time.perf_counter() - started) * 1000.0)

    def paste(self) -> None:
        """Describe the clipboard: image data, or image files copied in a file manager."""
        from describe_aloud.gui.main_window import local_paths

        mime = QGuiApplication.clipboard().mimeData()
        paths = local_paths(mime) if mime is not None else []
        if paths:
            self.describe_paths(paths)
            return
        image = QGuiApplication.clipboard().image()
        if not image.isNull():
            self._earcon("capturing")
            self.describe_qimage(image, "clipboard")
            return
        self._report_error("The clipboard holds no image. Copy an image or an image file first.")

    def open_images(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self.window, "Open images to describe", "", IMAGE_FILTER)
        self.describe_paths(paths)

    def more_detail(self) -> None:
        if self.last is None or self.last.image is None:
            self._report_error("There is nothing to add detail to yet: describe an image first.")
            return
        self._earcon("capturing")
        self.worker.submit(DescribeJob(source=self.last.source, image=self.last.image, more_detail=True,
                                       history_id=self.last.history_id))

    # Worker results (GUI thread, queued) -----------------------------------------------------------
    def _say_if_waiting_for_model(self) -> None:
        # Otherwise the user hears the capturing sound and then nothing for as long as the model loads.
        if self.model_state == "loading":
            message = "The model is still loading; this will be described as soon as it is ready."
            self.window.set_status(message)
            self.speaker.say(message, interrupt=False)

    def _job_dropped(self, job: DescribeJob) -> None:
        # Emitted synchronously from submit() in this thread: count files skipped for a newer request and
        # say it once, after the new request has been handed over.
        if job.path is None:
            return
        self._dropped_files += 1
        if self._dropped_files == 1:
            QTimer.singleShot(0, self._report_dropped_files)

    def _report_dropped_files(self) -> None:
        count, self._dropped_files = self._dropped_files, 0
        if count and not self._shut_down:
            noun = "file was" if count == 1 else "files were"
            self.window.set_status(f"{count} {noun} not described because a newer request came first.")

    def _worker_status(self, message: str) -> None:
        if self._shut_down:
            return
        self.window.set_status(message)

    def _model_ready(self, model_id: str) -> None:
        if self._shut_down:
            return
        self.model_state = "ready"
        self.window.set_status("Ready")
        self._say_status("Ready.")

    def _model_failed(self, message: str) -> None:
        if self._shut_down:
            return
        self.model_state = "failed"
        message = f"{message} Until then only text in images is read."
        self.window.set_status(message, assertive=True)
        self.window.show_result(message, focus=False)
        self.speaker.say(message, interrupt=False)

    def _job_started(self, job: DescribeJob) -> None:
        what = "in more detail" if job.more_detail else ""
        self.window.set_status(f"Describing {job.source} {what}…".replace("  ", " "))

    def _job_partial(self, partial: JobPartial) -> None:
        """A screen's text, read before its caption is ready: speak it now (the first words as early as
        possible); `_show_result` then speaks only what it adds. Nothing else happens here: the window
        and the history show the whole description when it is complete."""
        if self._shut_down:
            return
        if partial.job.more_detail:
            # The detail is ready, the objects are still being looked for: say the detail now.
            rendering, interrupt = render.more_detail(partial.description), True
        elif self.settings.speak_ocr:
            rendering, interrupt = render.describe(partial.description), partial.job.interrupt
        else:
            return  # without spoken text there is nothing worth saying early
        self._spoken_early[partial.job.id] = rendering  # before say: a stop may come at once
        self._earcon("done")
        self.speaker.say(rendering.speech, interrupt=interrupt)

    def _job_result(self, result: JobResult) -> None:
        if self._shut_down:  # a result queued just before quit: nothing left to show it in
            return
        try:
            self._show_result(result)
        except Exception as exc:  # noqa: BLE001 - never a silent failure: say what went wrong
            log.exception("showing a description failed")
            self._report_error(f"The description could not be shown: {exc}")

    def _show_result(self, result: JobResult) -> None:
        job, description = result.job, result.description
        if job.more_detail:
            self._more_detail_result(result)
            return
        rendering = render.describe(description, include_text=self.settings.speak_ocr)
        # Sound first (both calls return at once): the user is waiting; the window and history can wait.
        if job.id in self._spoken_early:
            # The text is being spoken already: queue only the rest (the hedged caption), nothing twice.
            # None: the user stopped the speech meanwhile, so the rest is not forced on them either.
            early = self._spoken_early.pop(job.id)
            rest = rendering.after(early).speech if early is not None else ""
            if rest:
                self.speaker.say(rest, interrupt=False)
        else:
            self._earcon("done")
            self.speaker.say(rendering.speech, interrupt=job.interrupt)
        history_id = self._record(description, job, result.thumbnail, rendering)
        self.last = LastResult(rendering=rendering, image=result.image, source=job.source, history_id=history_id)
        self.window.show_result(rendering.display,
                                focus=self.window.isActiveWindow() or not self.window.isVisible())
        self.window.set_preview(result.thumbnail)
        self.window.set_status(f"Described {job.source}.")

    def _more_detail_result(self, result: JobResult) -> None:
        description = result.description
        rendering = render.more_detail(description)
        spoken_early = result.job.id in self._spoken_early
        early = self._spoken_early.pop(result.job.id, None)
        if self.last is not None:
            self.last.rendering = self.last.rendering + rendering
            if self.last.history_id is not None:
                try:
                    self.history.update(self.last.history_id, description, self.last.rendering)
                except Exception:  # noqa: BLE001 - the detail is shown and spoken anyway
                    log.warning("history update failed", exc_info=True)
        self.window.append_result(rendering.display)
        self.window.set_status("More detail added.")
        if not spoken_early:
            self.speaker.say(rendering.speech, interrupt=True)
            self._earcon("done")
        elif early is not None:  # the detail is being spoken: only the objects follow it
            rest = rendering.after(early).speech
            if rest:
                self.speaker.say(rest, interrupt=False)

    def _job_error(self, job: DescribeJob, message: str) -> None:
        if self._shut_down:
            return
        # After its text was spoken early, the error follows it rather than cutting it off.
        early = job.id in self._spoken_early
        self._spoken_early.pop(job.id, None)
        self._report_error(message, interrupt=job.interrupt and not early)

    def _report_error(self, message: str, *, interrupt: bool = True) -> None:
        """Shown, announced (assertively), spoken, and the error earcon."""
        self.window.set_status(message, assertive=True)
        self.window.show_result(message, focus=self.window.isActiveWindow())
        self._earcon("error")
        self.speaker.say(message, interrupt=interrupt)

    def _hotkey_failed(self, action: str, combo: str, reason: str) -> None:
        # Failures come one per hotkey, usually all at once (no X server, Wayland): collect them briefly
        # and report once, instead of six long spoken errors in a row.
        self._hotkey_failures.append((action, combo, reason))
        if len(self._hotkey_failures) == 1:
            QTimer.singleShot(HOTKEY_REPORT_DELAY_MS, self._report_hotkey_failures)

    def _report_hotkey_failures(self) -> None:
        failures, self._hotkey_failures = self._hotkey_failures, []
        if not failures or self._shut_down:
            return
        if len(failures) == 1:
            _action, combo, reason = failures[0]
            self._report_error(f"The hotkey {combo} could not be set up. {reason}", interrupt=False)
            return
        summary = f"{len(failures)} global hotkeys could not be set up. The reasons are in the description area."
        details = "\n".join(f"{combo}: {' '.join(reason.split())}" for _a, combo, reason in failures)
        self.window.set_status(summary, assertive=True)
        self.window.show_result(f"{summary}\n\n{details}", focus=self.window.isActiveWindow())
        self._earcon("error")
        self.speaker.say(summary, interrupt=False)

    def _say_status(self, text: str) -> None:
        # With a screen reader as output the announcement is what it speaks; with our voice, say it too.
        if self.settings.speech_output == "own":
            self.speaker.say(text, interrupt=False)

    def _earcon(self, name: str) -> None:
        if self.earcons is not None and self.settings.earcons:
            try:
                self.earcons.play(name)
            except Exception:  # noqa: BLE001 - a sound failing must not stop the description
                log.warning("earcon %s failed", name, exc_info=True)

    # Speech commands -----------------------------------------------------------------------------
    def repeat(self) -> None:
        if self.last is None:
            self._report_error("Nothing has been described yet.")
            return
        self.speaker.say(self.last.text, interrupt=True)

    def stop_speech(self) -> None:
        self.speaker.stop()
        for job_id in self._spoken_early:  # the caption still to come is not spoken either
            self._spoken_early[job_id] = None
        self.window.set_status("Speech stopped.")

    def copy_description(self) -> None:
        text = self.last.text if self.last else self.window.result_text()
        if not text:
            self._report_error("There is no description to copy yet.")
            return
        QGuiApplication.clipboard().setText(text)
        self.window.set_status("Description copied.")
        self._say_status("Copied.")

    # Windows and dialogs -------------------------------------------------------------------------
    def show_window(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()
        self.window.result_view.setFocus()

    def _close_requested(self) -> None:
        if self.settings.close_to_tray and self.tray is not None:
            self.window.hide()
            keys = self.settings.hotkeys.get("describe_screen") or "the tray menu"
            message = f"{APP_TITLE} is still running in the tray. Describe the screen with {keys}."
            self.tray.showMessage(APP_TITLE, message)
            self._say_status(message)
        else:
            self.quit()

    def show_history(self) -> None:
        """Open (or bring back) the history window; it is not modal, so describing goes on meanwhile."""
        from describe_aloud.gui.history_view import HistoryDialog

        if self.history_dialog is None:
            self.history_dialog = HistoryDialog(
                self.history, lambda text: self.speaker.say(text, interrupt=True), self.window)
        else:
            self.history_dialog.refresh()
        self.history_dialog.show()
        self.history_dialog.raise_()
        self.history_dialog.activateWindow()
        self.history_dialog.search_edit.setFocus()

    def show_settings(self) -> None:
        from describe_aloud.gui.settings_dialog import SettingsDialog

        try:
            voices = self.speaker.voices()
        except Exception:  # noqa: BLE001 - the list of voices is optional
            log.warning("could not list voices", exc_info=True)
            voices = []
        dialog = SettingsDialog(self.settings, voices=voices, parent=self.window,
                                tray_available=self.tray is not None)
        dialog.settings_changed.connect(self.apply_settings)
        dialog.exec()

    def apply_settings(self, changed: list[str]) -> None:
        """Apply saved settings: a new model is loaded by the worker; speech and hotkeys are updated."""
        changed = set(changed)
        if "model" in changed:
            self.model_override = None  # the user chose a model: it replaces the --model of this run
        if changed & {"model", "precision"}:
            self.model_state = "loading"
        if changed & {"model", "precision", "detail_model"}:
            self.worker.set_model(self.model_spec, detail_model=self.settings.detail_model,
                                  precision=self.precision)
        if "speech_output" in changed:
            if hasattr(self.speaker, "set_output"):
                self.speaker.set_output(self.settings.speech_output)
            else:
                old, self.speaker = self.speaker, self._create_speaker()
                old.close()
        for name, setter in (("voice", "set_voice"), ("rate", "set_rate"), ("volume", "set_volume")):
            if name in changed:
                try:
                    getattr(self.speaker, setter)(getattr(self.settings, name))
                except Exception as exc:  # noqa: BLE001 - report, keep the rest working
                    self.window.set_status(f"Could not change the {name}: {exc}", assertive=True)
        if "earcons" in changed and self.earcons is not None:
            self.earcons.set_enabled(self.settings.earcons)
        if "hotkeys" in changed and self.hotkeys is not None:
            self.hotkeys.apply(self.settings.hotkeys)

    def describe_folder(self, folder: str | None = None) -> None:
        try:
            from describe_aloud.gui.batch_dialog import BatchDialog
        except ImportError:
            self._report_error("Describing a folder is not available in this version; "
                               f"use: {user_command('batch', 'FOLDER')}")
            return
        # Not modal: the batch runs in its own thread and the app stays usable meanwhile.
        if self.batch_dialog is None:
            self.batch_dialog = BatchDialog(self.window, self.settings, self.speaker)
        if folder and not self.batch_dialog.running:
            self.batch_dialog.folder_edit.setText(folder)
        self.batch_dialog.show()
        self.batch_dialog.raise_()
        self.batch_dialog.activateWindow()

    def shortcuts_text(self) -> str:
        lines = ["Keyboard shortcuts in this window:"]
        for spec in ACTION_SPECS:
            keys = shortcut_text(self.window.action(spec.name))
            if keys:
                lines.append(f"{spec.text.replace('&', '').replace('…', '')}: {keys}")
        lines.append("")
        lines.append("Global hotkeys (work in every application):")
        for action, combo in self.settings.hotkeys.items():
            if combo:
                lines.append(f"{action.replace('_', ' ').capitalize()}: {combo}")
        return "\n".join(lines)

    def show_shortcuts(self) -> None:
        self.window.show_result(self.shortcuts_text())
        self.window.set_status("Keyboard shortcuts are shown in the description area.")


def run_app(*, model: str | None = None, precision: str | None = None, argv: list[str] | None = None) -> int:
    """Start the app: one instance per user (a second start just shows the first), returns the exit code."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("describe-aloud")
    app.setApplicationDisplayName(APP_TITLE)
    app.setQuitOnLastWindowClosed(False)  # closing the window may keep the app in the tray

    server = None
    try:
        from describe_aloud.engine.ipc import send_command
        from describe_aloud.gui.single_instance import InstanceServer
    except ImportError:
        InstanceServer = send_command = None  # noqa: N806
    if InstanceServer is not None:
        server = InstanceServer()
        if not server.start():
            if send_command("show"):
                print("Describe Aloud is already running; its window was brought to the front.")
                return 0
            log.warning("another instance seems to own the socket but does not answer; starting anyway")

    controller = AppController(model_override=model, precision_override=precision,
                               enable_single_instance=False, instance_server=server)
    if server is not None:
        server.command_received.connect(controller.handle_command)
    app.aboutToQuit.connect(controller.shutdown)
    _quit_on_signals(controller)
    controller.start()
    code = app.exec()
    controller.shutdown()
    return int(code)


def _quit_on_signals(controller: AppController) -> None:
    """Ctrl+C in a terminal or SIGTERM (logout, `kill`) quits cleanly: threads stopped, history closed.

    Python runs signal handlers only when the interpreter gets control, so a timer hands it control
    twice a second while Qt's event loop runs."""
    import signal

    def handler(signum, _frame) -> None:
        log.info("signal %s: quitting", signum)
        QTimer.singleShot(0, controller.quit)

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError):  # not the main thread, or not supported here
            pass
    timer = QTimer(controller)
    timer.setInterval(500)
    timer.timeout.connect(lambda: None)
    timer.start()
