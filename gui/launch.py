"""Starting the app: one instance per user (a second start shows the first one's window), Qt's own
translations, the controller, and a clean quit on SIGINT / SIGTERM."""
from __future__ import annotations

import logging
import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from describe_aloud.engine.i18n import _
from describe_aloud.engine.ipc import send_command
from describe_aloud.gui.app import AppController
from describe_aloud.gui.main_window import APP_TITLE
from describe_aloud.gui.qt_translations import install_qt_translations
from describe_aloud.gui.single_instance import InstanceServer

log = logging.getLogger(__name__)

def run_app(*, model: str | None = None, precision: str | None = None, argv: list[str] | None = None) -> int:
    """Start the app: one instance per user (a second start just shows the first), returns the exit code."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("describe-aloud")
    app.setApplicationDisplayName(_(APP_TITLE))
    install_qt_translations(app)  # Qt's standard dialogs in the app's language
    app.setQuitOnLastWindowClosed(False)  # closing the window may keep the app in the tray

    server = InstanceServer()
    if not server.start():
        if send_command("show"):
            print(_("Describe Aloud is already running; its window was brought to the front."))
            return 0
        log.warning("another instance seems to own the socket but does not answer; starting anyway")

    controller = AppController(model_override=model, precision_override=precision,
                               enable_single_instance=False, instance_server=server)
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
