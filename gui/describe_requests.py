"""What the user asks to have described, handed to the worker: images, files, the clipboard, the screen,
more detail about the last one.

Threading contract: a QObject of the GUI thread. It never waits: the worker takes each request at once
(newest wins) and answers through its signals (gui.presenter).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject
from PySide6.QtGui import QImage

from describe_aloud.engine.config import Settings
from describe_aloud.engine.i18n import _
from describe_aloud.gui.capture_session import CaptureSession, ScreenCapture
from describe_aloud.gui.image_input import choose_images, clipboard_content, qimage_to_pil
from describe_aloud.gui.main_window import MainWindow
from describe_aloud.gui.presenter import Presenter
from describe_aloud.gui.spoken_flow import SpokenFlow
from describe_aloud.gui.worker import DescribeJob, DescribeWorker


class DescribeRequests(QObject):
    """`open_folder(folder)`: a dropped folder is a batch (Describe folder), not an image."""

    def __init__(self, worker: DescribeWorker, capture: CaptureSession, presenter: Presenter, flow: SpokenFlow,
                 window: MainWindow, settings: Settings, *, open_folder: Callable[[str], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.capture = capture
        self.presenter = presenter
        self.flow = flow
        self.window = window
        self.settings = settings
        self._open_folder = open_folder
        capture.captured.connect(self._describe_capture)
        capture.failed.connect(presenter.report_error)

    def describe_image(self, image: Image.Image, source: str, *, interrupt: bool = True,
                       timings_ms: dict[str, float] | None = None, kind_hint: str | None = None) -> DescribeJob:
        """Hand a PIL image to the worker (newest request wins). kind_hint="screen" for captures."""
        self.flow.say_if_waiting_for_model()
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
            self._open_folder(folders[0])
        if not paths:
            return
        jobs = [
            DescribeJob(source=str(p), path=Path(p), detail=self.settings.detail, interrupt=(i == 0))
            for i, p in enumerate(paths)
        ]
        self.flow.say_if_waiting_for_model()
        submitted = self.worker.submit_many(jobs)
        if len(submitted) > 1:
            self.window.set_status(_("Describing {count} images…").format(count=len(submitted)))
        if len(submitted) < len(jobs):
            self.window.set_status(
                _("Only the first {count} of {count2} files are described; use Describe folder for more.").format(count=len(submitted), count2=len(jobs)), assertive=True)

    def describe_screen(self, target: str) -> None:
        """Play the capturing earcon and grab `target` (an engine.capture target) with our windows out of
        the way; the capture is then described, or its failure reported."""
        self.flow.earcon("capturing")
        self.window.set_status(_("Capturing…"))
        self.capture.grab(target)

    def _describe_capture(self, shot: ScreenCapture) -> None:
        if shot.note:
            self.window.set_status(shot.note)
        # A capture is a screen: its text is read first and spoken before the caption is ready.
        self.describe_image(shot.image, shot.source, timings_ms=shot.timings_ms, kind_hint="screen")

    def describe_clipboard(self) -> None:
        """Image data, or image files copied in a file manager."""
        content = clipboard_content()
        if content.paths:
            self.describe_paths(content.paths)
        elif content.image is not None:
            self.flow.earcon("capturing")
            self.describe_qimage(content.image, "clipboard")
        else:
            self.presenter.report_error(_("The clipboard holds no image. Copy an image or an image file first."))

    def describe_chosen_files(self) -> None:
        self.describe_paths(choose_images(self.window))

    def more_detail(self) -> None:
        last = self.presenter.last
        if last is None or last.image is None:
            self.presenter.report_error(_("There is nothing to add detail to yet: describe an image first."))
            return
        self.flow.earcon("capturing")
        self.worker.submit(DescribeJob(source=last.source, image=last.image, more_detail=True,
                                       history_id=last.history_id))
