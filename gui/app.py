"""The desktop app: QApplication setup and the AppController that builds the app's parts and wires them.

Flow of a hotkey: HotkeyManager / InstanceServer / window action -> the action table (gui.actions) ->
`AppController.capture_and_describe(target)` -> "capturing" earcon -> CaptureSession (our visible windows
hidden, the screen grabbed on the GUI thread, our windows back without taking the focus from the user's
application) -> the PIL image goes to the DescribeWorker (as a "screen": text first) -> `job_progress` (the
read text, spoken at once) -> `job_result` -> history + result view + the rest of the speech + "done"
earcon. Errors -> shown, announced, spoken, "error" earcon. A near-black capture is not described: the user
hears how to grant screen-capture permission instead.

Who does what: gui.actions (the one action table), gui.capture_session (grabbing the screen),
gui.describe_requests (what is handed to the worker), gui.presenter (worker results shown, recorded and
said), gui.spoken_flow (what is said, and when), gui.dialogs (history, settings, describe folder,
shortcuts), gui.hotkey_report (hotkeys that failed). The controller builds them, connects them, and runs
the commands of the action table (gui.actions.ActionTarget).

Threading contract: the AppController lives in the GUI thread and only ever runs there. It never runs a
model (the worker does) and never waits on speech (Speaker.say is non-blocking; its callbacks, which come
from a speech thread, are re-emitted as Qt signals and so arrive queued in the GUI thread).
"""
from __future__ import annotations

import dataclasses
import logging

from PIL import Image
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from describe_aloud.engine.config import Settings
from describe_aloud.engine.errors import user_message
from describe_aloud.engine.i18n import _, current_language
from describe_aloud.engine.ipc import parse_command_line
from describe_aloud.engine.speech import SpeechOutput
from describe_aloud.gui.actions import ACTIONS, remote_action
from describe_aloud.gui.announce import route_announcements
from describe_aloud.gui.ask_flow import AskFlow
from describe_aloud.gui.batch_dialog import BatchDialog
from describe_aloud.gui.capture_session import CaptureSession, primary_screen_pixels
from describe_aloud.gui.describe_requests import DescribeRequests
from describe_aloud.gui.dialogs import Dialogs
from describe_aloud.gui.earcons import Earcons, open_earcons
from describe_aloud.gui.hotkey_report import HotkeyFailures
from describe_aloud.gui.history_view import HistoryDialog
from describe_aloud.gui.hotkeys import HotkeyManager
from describe_aloud.gui.image_input import copy_text
from describe_aloud.gui.main_window import APP_TITLE, MainWindow
from describe_aloud.gui.presenter import LastResult, Presenter, open_history
from describe_aloud.gui.settings_watch import SettingsWatcher
from describe_aloud.gui.single_instance import InstanceServer
from describe_aloud.gui.speech_bridge import (
    NullSpeaker,
    SpeakerFactory,
    SpeechBridge,
    default_speaker_factory,
    start_speech,
)
from describe_aloud.gui.speech_router import AccessibleChannel, SpeechRouter
from describe_aloud.gui.spoken_flow import SpokenFlow
from describe_aloud.gui.tray import TrayIcon
from describe_aloud.gui.worker import DescribeJob, DescribeWorker

log = logging.getLogger(__name__)


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
        instance_server: InstanceServer | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings or Settings.load()
        self.model_override = model_override
        self.precision_override = precision_override
        self._shut_down = False
        self._speaker_factory = speaker_factory or default_speaker_factory
        self._speech_problem: str | None = None

        self.history, self._history_problem = open_history()
        self.window = MainWindow()
        self.bridge = SpeechBridge(self)
        self.router = SpeechRouter(self._create_speaker(), self.settings.speech_output,
                                   AccessibleChannel(lambda: self.window.status_label))
        route_announcements(self.router.announce)
        self.flow = SpokenFlow(self.router, self.settings, earcons=open_earcons(self.settings.earcons),
                               set_status=lambda message, spoken=False: self.window.set_status(message, spoken=spoken),
                               defer=lambda run: QTimer.singleShot(0, run), whole_texts=self.router.to_screen_reader)
        self.presenter = Presenter(self.window, self.history, self.flow, self.settings, self)
        self.capture = CaptureSession(self)
        self.worker = DescribeWorker(
            self.model_spec, detail_model=self.settings.detail_model, precision=self.precision,
            screen_size=primary_screen_pixels(), language=translation_language(),
            translate_text=self.settings.translate_text, parent=self,
        )
        self.worker.ask_model = self.settings.ask_model
        self.asking = AskFlow(self.window, self.worker, self.presenter, self.history, self.flow, self)
        self.requests = DescribeRequests(self.worker, self.capture, self.presenter, self.flow, self.window,
                                         self.settings, open_folder=self.describe_folder, parent=self)
        self.tray: TrayIcon | None = None
        self.dialogs = Dialogs(self.window, self.settings, self.history, self.flow,
                               tray_available=lambda: self.tray is not None, apply_settings=self.apply_settings,
                               model=lambda: (self.model_spec, self.precision))
        self.hotkey_failures = HotkeyFailures(self.presenter.report_error,
                                              defer=lambda ms, run: QTimer.singleShot(ms, run))
        if TrayIcon.available():
            tray = TrayIcon(self.window.actions_by_name, self.window)
            self.attach_tray(tray)
            tray.show()
        self.settings_watch = SettingsWatcher(self.settings, parent=self)
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

    @property
    def speaker(self) -> SpeechOutput:
        return self.flow.speaker

    @property
    def earcons(self) -> Earcons | None:
        return self.flow.earcons

    @property
    def model_state(self) -> str:
        return self.flow.model_state

    @property
    def last(self) -> LastResult | None:
        return self.presenter.last

    @property
    def history_dialog(self) -> HistoryDialog | None:
        return self.dialogs.history_dialog

    @property
    def batch_dialog(self) -> BatchDialog | None:
        return self.dialogs.batch_dialog

    def _create_speaker(self) -> SpeechOutput:
        """The own voice. It never uses the engine's screen-reader path (speech-dispatcher would bypass
        Orca's queue): gui.speech_router sends texts to the screen reader."""
        own_voice = dataclasses.replace(self.settings, speech_output="own")
        speaker, self._speech_problem = start_speech(self._speaker_factory, own_voice, self.bridge)
        return speaker

    def attach_tray(self, tray: TrayIcon) -> None:
        """Use `tray` as the app's tray icon (its menu holds the window's actions already)."""
        self.tray = tray
        tray.show_requested.connect(self.show_window)

    def _create_hotkeys(self) -> HotkeyManager:
        manager = HotkeyManager(self)
        manager.activated.connect(self.dispatch)
        manager.registration_failed.connect(self.hotkey_failures.add)
        return manager

    def _create_instance_server(self) -> InstanceServer:
        server = InstanceServer(self)
        server.command_received.connect(self.handle_command)
        if not server.start():
            log.warning("single-instance server did not start")
        return server

    def _connect(self) -> None:
        self.presenter.attach(self.worker)
        self.bridge.speech_error.connect(lambda m: self.window.set_status(m, assertive=True))  # the voice failed
        self.window.files_dropped.connect(self.requests.describe_paths)
        self.window.image_dropped.connect(lambda img: self.requests.describe_qimage(img, "dropped image"))
        self.window.close_requested.connect(self._close_requested)
        self.settings_watch.changed.connect(self.apply_settings)
        self.settings_watch.problem.connect(self.tell)
        for spec in ACTIONS:
            self.window.action(spec.name).triggered.connect(lambda _checked=False, run=spec.run: run(self))

    def tell(self, problem: str, *, written: str | None = None) -> None:
        """A problem found outside any request (start-up, a settings change): shown and said by whichever
        voice speaks. An announcement alone reaches only a screen reader: with the own voice it was silent.
        `written`: the longer form shown on the status line (a whole path: seconds to hear, useful to read)."""
        self.window.set_status(problem, spoken=True, written=written)
        self.flow.say_status(problem)

    # Start and stop ------------------------------------------------------------------------------
    def start(self, *, show: bool | None = None) -> None:
        """Show the window (unless starting minimised to a tray), start the worker and the hotkeys."""
        if show is None:
            show = not (self.settings.start_minimised and self.tray is not None)
        if show:
            self.window.show()
        self.capture.exclude(self.window)
        self.window.set_status(_("Starting…"))
        if self._speech_problem:
            self.tell(self._speech_problem)
        if self._history_problem:
            self.tell(self._history_problem)
        for note in self.settings.load_notes:  # a damaged settings file, kept aside
            self.tell(note.said, written=note.written)
        self.worker.start()
        self.capture.prepare()
        if self.hotkeys is not None:
            self.hotkeys.apply(self.settings.hotkeys)

    def shutdown(self) -> None:
        """Stop every thread and close every file. Idempotent; called on quit."""
        if self._shut_down:
            return
        self._shut_down = True
        self.presenter.close()
        self.asking.close()
        self.hotkey_failures.closed = True
        if self.hotkeys is not None:
            self.hotkeys.stop()
        if self.instance_server is not None:
            self.instance_server.close()
        self.dialogs.shutdown()
        if self.worker.isRunning() and self.worker.is_loading():
            # A model load cannot be interrupted and takes seconds: say why the app does not close at once.
            self.speaker.say(_("Closing as soon as the picture model has finished loading. This takes a few "
                               "seconds."), interrupt=True)
        self.worker.stop()
        if self.worker.isRunning() and not self.worker.wait(60_000):
            log.error("describe worker did not stop within 60 s")
        route_announcements(None)
        try:
            self.speaker.close()
        except Exception:  # noqa: BLE001 - closing must go on for the rest
            log.warning("closing speech failed", exc_info=True)
        if self.earcons is not None:
            self.earcons.close()
        if self.tray is not None:
            self.tray.hide()
        self.history.close()
        self.capture.close()

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
        parsed = parse_command_line(command)
        if parsed is not None and parsed[0] == "ask":  # "ask <question>" from `ask --last`
            self.asking.ask(parsed[1] or "")
            return
        self.dispatch(command)

    def dispatch(self, action: str) -> None:
        """Run a hotkey / socket action by name ("describe_screen" or "describe-screen")."""
        spec = remote_action(action)
        if spec is None:
            log.warning("unknown command %r", action)
            return
        spec.run(self)

    # Describing (gui.describe_requests) ------------------------------------------------------------
    def describe_image(self, image: Image.Image, source: str) -> DescribeJob:
        return self.requests.describe_image(image, source)

    def describe_paths(self, paths: list[str]) -> None:
        self.requests.describe_paths(paths)

    def capture_and_describe(self, target: str) -> None:
        self.requests.describe_screen(target)

    def paste(self) -> None:
        self.requests.describe_clipboard()

    def open_images(self) -> None:
        self.requests.describe_chosen_files()

    def more_detail(self) -> None:
        self.requests.more_detail()

    def ask_about_image(self) -> None:
        self.show_window()
        self.asking.open_dialog()

    # Speech commands -----------------------------------------------------------------------------
    def repeat(self) -> None:
        if not self.flow.repeat(self.last.rendering if self.last is not None else None):
            self.presenter.report_error(_("Nothing has been described yet."))

    def stop_speech(self) -> None:
        self.asking.stop()  # also stops an answer being generated; flow.stop() silences the voice

    def copy_description(self) -> None:
        text = self.last.text if self.last else self.window.result_text()
        if not text:
            self.presenter.report_error(_("There is no description to copy yet."))
            return
        copy_text(text)
        self.window.set_status(_("Description copied."), spoken=True)
        self.flow.say_status("Copied.")

    # Windows, dialogs and settings ---------------------------------------------------------------
    def show_window(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()
        self.window.result_view.setFocus()

    def _close_requested(self) -> None:
        if self.settings.close_to_tray and self.tray is not None:
            self.window.hide()
            keys = self.settings.hotkeys.get("describe_screen") or _("the tray menu")
            message = _("{app} is still running in the tray. Describe the screen with {keys}.").format(
                app=_(APP_TITLE), keys=keys)
            self.tray.showMessage(_(APP_TITLE), message)
            self.flow.say_status(message)
        else:
            self.quit()

    def show_history(self) -> None:
        self.dialogs.show_history()

    def show_settings(self) -> None:
        self.dialogs.show_settings()

    def describe_folder(self, folder: str | None = None) -> None:
        self.dialogs.describe_folder(folder)

    def show_shortcuts(self) -> None:
        self.dialogs.show_shortcuts()

    def apply_settings(self, changed: list[str]) -> None:
        """Apply saved settings: a new model is loaded by the worker; speech and hotkeys are updated."""
        fields = set(changed)
        if "model" in fields:
            self.model_override = None  # the user chose a model: it replaces the --model of this run
        if fields & {"model", "precision"}:
            self.flow.model_loading()
        if "ask_model" in fields:
            self.worker.ask_model = self.settings.ask_model  # loaded on the next question
        if fields & {"model", "precision", "detail_model"}:
            self.worker.set_model(self.model_spec, detail_model=self.settings.detail_model,
                                  precision=self.precision)
        if "speech_output" in fields:
            if isinstance(self.router.own, NullSpeaker):  # speech never started: try again
                self.router.own = self._create_speaker()
            self.router.set_output(self.settings.speech_output)
        voice_settings = {  # what to do, and what failed in the user's words
            "voice": (lambda: self.speaker.set_voice(self.settings.voice), _("Could not change the voice")),
            "rate": (lambda: self.speaker.set_rate(self.settings.rate), _("Could not change the rate")),
            "volume": (lambda: self.speaker.set_volume(self.settings.volume), _("Could not change the volume")),
        }
        for name, (apply, failed) in voice_settings.items():
            if name in fields:
                try:
                    apply()
                except Exception as exc:  # noqa: BLE001 - report, keep the rest working
                    self.tell(user_message(exc, doing=failed))
        if "translate_text" in fields:
            self.worker.translate_text = self.settings.translate_text
        if "earcons" in fields and self.earcons is not None:
            self.earcons.set_enabled(self.settings.earcons)
        if "hotkeys" in fields and self.hotkeys is not None:
            self.hotkeys.apply(self.settings.hotkeys)


def translation_language() -> str | None:
    """The language descriptions are translated into: the app's, None for English (no translator)."""
    from describe_aloud.engine.translation import needs_translation

    language = current_language()
    return language if needs_translation(language) else None
