"""The "Describe folder…" dialog: the `batch` command with a progress bar, spoken progress and pause.

The batch (engine.batch.BatchRunner) runs as one job of a BatchWorker (gui.job_worker.JobWorker), which
owns its own captioner (loaded there with engine.load_captioner(settings.model)); the window stays usable. Progress is shown (bar, current
file, rate, time left), announced to the screen reader on every status change, and spoken every
`settings.batch_progress_every_percent` percent through the app's speaker. Pause, resume and cancel take
effect between batches; the journal keeps every finished result, so a cancelled folder continues where
it stopped next time.

Threading contract: the dialog and its widgets live on the GUI thread. `BatchWorker.run` runs on the
worker thread and only emits signals (never touches a widget); the runner's pause / resume / cancel are
thread-safe and called from the GUI thread.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from describe_aloud.engine.batch import (
    BatchOptions,
    BatchRunner,
    BatchSummary,
    Progress,
)
from describe_aloud.engine.config import Settings
from describe_aloud.engine.i18n import N_, _, ngettext
from describe_aloud.engine.speech.protocol import SpeechOutput
from describe_aloud.engine.text_safety import printable_path
from describe_aloud.gui.announce import announce
from describe_aloud.gui.job_worker import JobWorker
from describe_aloud.gui.scrolling import scrolling
from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

OUTPUT_CHOICES = ((N_("CSV file"), ".csv"), (N_("JSON Lines file"), ".jsonl"), (N_("JSON file"), ".json"),
                  (N_("No results file"), None))
SIDECAR_CHOICES = ((N_("No sidecar files"), None), (N_("Text files (IMG.jpg.txt)"), "txt"),
                   (N_("XMP sidecars (IMG.jpg.xmp)"), "xmp"))
RESULTS_STEM = "describe-aloud-results"


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        # Translators: the time left of a folder run, when it cannot be estimated yet.
        return _("unknown")
    seconds = int(round(seconds))
    if seconds < 60:
        return ngettext("{seconds} second", "{seconds} seconds", seconds).format(seconds=seconds)
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        # Translators: a duration, e.g. "3 min 20 s".
        return _("{minutes} min {seconds} s").format(minutes=minutes, seconds=seconds)
    hours, minutes = divmod(minutes, 60)
    # Translators: a duration, e.g. "2 h 5 min".
    return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)


class BatchWorker(JobWorker):
    """Runs one BatchRunner as one job: `job_progress(Progress)`, `status(text)`, then
    `job_result(BatchSummary)` or `job_error(options, message)`."""

    def __init__(self, options: BatchOptions, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("batch-worker")
        self.options = options
        self.runner = BatchRunner(options, on_progress=self.job_progress.emit, on_status=self.status.emit)

    def run(self) -> None:  # noqa: D401 - Qt entry point
        self.run_job(self.options, self.runner.run, doing=_("Describing the folder failed"))


class BatchDialog(QDialog):
    """See the module docstring. `speaker`: the app's speech output (progress and the summary are said)."""

    def __init__(self, parent: QWidget | None, settings: Settings, speaker: SpeechOutput, *,
                 model: Callable[[], tuple[str, str]] | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        # The captioner and precision the app describes with (`gui --model` of this run): a folder gets the same.
        self._model = model or (lambda: (settings.model, settings.precision))
        self.speaker = speaker
        self._worker: BatchWorker | None = None
        self._last_spoken_step = 0
        self._close_when_stopped = False
        self.summary = None
        self.setWindowTitle(_("Describe folder"))
        self.setAccessibleName(_("Describe folder"))
        self.setAccessibleDescription(_("Describe every image in a folder and save alt text for each."))
        self._build()
        self._set_running(False)

    # ------------------------------------------------------------------------------- building
    def _build(self) -> None:
        form = QFormLayout()

        self.folder_edit = QLineEdit()
        self.folder_edit.setAccessibleName(_("Folder"))
        self.folder_edit.setAccessibleDescription(_("The folder of images to describe"))
        self.browse_button = QPushButton(_("&Browse…"))
        self.browse_button.setAccessibleName(_("Browse for a folder"))
        self.browse_button.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder_edit, 1)
        row.addWidget(self.browse_button)
        folder_label = QLabel(_("&Folder:"))
        folder_label.setBuddy(self.folder_edit)
        form.addRow(folder_label, row)

        self.recursive_check = QCheckBox(_("Include sub-f&olders"))
        self.recursive_check.setAccessibleName(_("Include sub-folders"))
        self.recursive_check.setChecked(True)
        form.addRow(self.recursive_check)

        self.output_combo = QComboBox()
        self.output_combo.setAccessibleName(_("Results file"))
        for text, suffix in OUTPUT_CHOICES:
            self.output_combo.addItem(_(text), suffix)
        output_label = QLabel(_("&Results file:"))
        output_label.setBuddy(self.output_combo)
        form.addRow(output_label, self.output_combo)

        self.sidecar_combo = QComboBox()
        self.sidecar_combo.setAccessibleName(_("Sidecar files"))
        for text, kind in SIDECAR_CHOICES:
            self.sidecar_combo.addItem(_(text), kind)
        sidecar_label = QLabel(_("Side&car files:"))
        sidecar_label.setBuddy(self.sidecar_combo)
        form.addRow(sidecar_label, self.sidecar_combo)

        self.metadata_check = QCheckBox(_("Write alt text &into the image files (JPEG, PNG, WebP, TIFF)"))
        self.metadata_check.setAccessibleName(_("Write alt text into the image files"))
        self.metadata_check.setAccessibleDescription(
            _("The pictures themselves are not changed; only their metadata. Other formats are reported."))
        form.addRow(self.metadata_check)
        self.replace_alt_check = QCheckBox(_("Replace alt text others &wrote"))
        self.replace_alt_check.setAccessibleName(_("Replace alt text others wrote"))
        self.replace_alt_check.setAccessibleDescription(
            _("Off: an image file that already holds alt text Describe Aloud did not write is left as it is."))
        self.replace_alt_check.setEnabled(False)
        self.metadata_check.toggled.connect(self.replace_alt_check.setEnabled)
        form.addRow(self.replace_alt_check)

        self.detail_check = QCheckBox(_("&Detailed descriptions (slower)"))
        self.detail_check.setAccessibleName(_("Detailed descriptions"))
        self.detail_check.setChecked(self.settings.detail)
        form.addRow(self.detail_check)

        self.progress_bar = QProgressBar()
        self.progress_bar.setAccessibleName(_("Progress"))
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setValue(0)
        self.current_label = QLabel("")
        self.current_label.setTextFormat(Qt.TextFormat.PlainText)  # a file name: never markup
        self.current_label.setAccessibleName(_("Current file"))
        self.current_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByKeyboard
                                                   | Qt.TextInteractionFlag.TextSelectableByMouse)
        self.eta_label = QLabel("")
        self.eta_label.setAccessibleName(_("Time left"))
        self.status_label = QLabel(_("Choose a folder, then press Start."))
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label.setAccessibleName(_("Status: Choose a folder, then press Start."))
        self.status_label.setWordWrap(True)

        self.summary_view = QPlainTextEdit()
        self.summary_view.setReadOnly(True)
        self.summary_view.setAccessibleName(_("Summary"))
        self.summary_view.setPlaceholderText(_("The summary appears here when the folder is done."))
        self.summary_view.setTabChangesFocus(True)

        self.start_button = QPushButton(_("&Start"))
        self.start_button.setAccessibleName(_("Start describing the folder"))
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        # Enter starts (as the guide says) wherever the focus is but on another button: a button that had
        # the focus (Browse, after choosing a folder) otherwise stayed the default and Enter opened it again.
        QApplication.instance().focusChanged.connect(self._default_is_start)
        self.pause_button = QPushButton(_("&Pause"))
        self.pause_button.setAccessibleName(_("Pause"))
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button = QPushButton(_("Ca&ncel"))
        self.cancel_button.setAccessibleName(_("Cancel the run"))
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton(_("C&lose"))
        self.close_button.setAccessibleName(_("Close"))
        self.close_button.clicked.connect(self.close)
        buttons = QDialogButtonBox()
        for button in (self.start_button, self.pause_button, self.cancel_button, self.close_button):
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)

        layout = QVBoxLayout(self)
        # The options scroll and wrap, and long entries do not set the width: it fits at 200 % text.
        options = QWidget(self)
        options.setLayout(form)
        layout.addWidget(scrolling(options, _("Folder options"), self), 1)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.current_label)
        layout.addWidget(self.eta_label)
        layout.addWidget(self.status_label)
        layout.addWidget(self.summary_view, 1)
        layout.addWidget(buttons)
        self.resize(560, 520)

    # ------------------------------------------------------------------------------- options
    @Slot(QWidget, QWidget)
    def _default_is_start(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is not None and self.isAncestorOf(new) and not isinstance(new, QPushButton):
            self.start_button.setDefault(True)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, _("Choose the folder of images"), self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def options(self) -> BatchOptions:
        """The BatchOptions for the current choices."""
        folder = self.folder_edit.text().strip()
        suffix = self.output_combo.currentData()
        detail = self.detail_check.isChecked()
        model = self.settings.detail_model if detail else None
        current_model, precision = self._model()
        return BatchOptions(
            folder=folder,
            recursive=self.recursive_check.isChecked(),
            out=str(Path(folder) / f"{RESULTS_STEM}{suffix}") if suffix and folder else None,
            sidecar=self.sidecar_combo.currentData(),
            write_metadata=self.metadata_check.isChecked(),
            replace_alt_text=self.metadata_check.isChecked() and self.replace_alt_check.isChecked(),
            model=model or current_model,
            detail=detail,
            precision=precision,
            use_ocr=self.settings.speak_ocr,
        )

    # ------------------------------------------------------------------------------- running
    @property
    def running(self) -> bool:
        return self._worker is not None

    def start(self) -> None:
        if self.running:
            return
        folder = self.folder_edit.text().strip()
        if not folder or not Path(folder).expanduser().is_dir():
            self._set_status(_("Choose an existing folder first."), assertive=True)
            self.folder_edit.setFocus()
            return
        self.summary = None
        self.summary_view.clear()
        self.progress_bar.setValue(0)
        self._last_spoken_step = 0
        self._worker = BatchWorker(self.options(), self)
        self._worker.job_progress.connect(self._on_progress)
        self._worker.status.connect(self._on_status)
        self._worker.job_result.connect(self._on_finished)
        self._worker.job_error.connect(self._on_failed)
        self._set_running(True)
        self._set_status(_("Starting…"))
        self._worker.start()

    def toggle_pause(self) -> None:
        if not self.running or self._worker is None:
            return
        runner = self._worker.runner
        if runner.paused:
            runner.resume()
            self.pause_button.setText(_("&Pause"))
            self.pause_button.setAccessibleName(_("Pause"))
            self._set_status(_("Resumed."))
        else:
            runner.pause()
            self.pause_button.setText(_("Res&ume"))
            self.pause_button.setAccessibleName(_("Resume"))
            self._set_status(_("Paused after the current batch. Press Resume to go on."))

    def cancel(self) -> None:
        if self.running and self._worker is not None:
            self._worker.runner.cancel()
            self.cancel_button.setEnabled(False)
            self.pause_button.setEnabled(False)
            self._set_status(_("Stopping after the current batch… Finished results are kept."))

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Cancel and wait for the worker thread (app quit; blocks the GUI thread for at most the batch in
        flight). Returns True when it has stopped."""
        if self._worker is None:
            return True
        self.cancel()
        stopped = self._worker.wait(timeout_ms)  # the run returns between batches
        if stopped:
            self._cleanup_thread()
        return stopped

    # ------------------------------------------------------------------------------- signals
    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        percent = int(progress.percent)
        self.progress_bar.setValue(percent)
        # Translators: on the progress bar; %p% is Qt's percentage (keep it as it is).
        self.progress_bar.setFormat(_("{done} of {total} (%p%)").format(done=progress.done, total=progress.total))
        self.progress_bar.setAccessibleDescription(
            ngettext("{done} of {total} image", "{done} of {total} images", progress.total)
            .format(done=progress.done, total=progress.total))
        if progress.current:
            self.current_label.setText(_("Last file: {name}").format(name=printable_path(progress.current)))
        if progress.total:
            self.eta_label.setText(_("{rate} images per second, about {duration} left").format(
                rate=f"{progress.rate:.1f}", duration=format_duration(progress.eta_seconds)))
        every = max(1, int(self.settings.batch_progress_every_percent or 10))
        step = percent // every
        if progress.total and step > self._last_spoken_step and percent < 100:
            self._last_spoken_step = step
            # Spoken through the app's voice only: the progress bar itself is readable by the screen
            # reader, and announcing as well would say it twice.
            self._say(ngettext("{percent} percent, {done} of {total} image.",
                               "{percent} percent, {done} of {total} images.", progress.total)
                      .format(percent=step * every, done=progress.done, total=progress.total))

    @Slot(str)
    def _on_status(self, message: str) -> None:
        self._set_status(message)

    @Slot(object)
    def _on_finished(self, summary: BatchSummary) -> None:
        self.summary = summary
        lines = summary.lines()
        self.summary_view.setPlainText("\n".join(lines))
        if not summary.cancelled:
            self.progress_bar.setValue(100)
        self._set_status(lines[0], assertive=True)
        self._say(lines[0])
        self._finish_thread()

    @Slot(object, str)
    def _on_failed(self, _options: BatchOptions, message: str) -> None:
        self.summary_view.setPlainText(message)
        self._set_status(message, assertive=True)
        self._say(message)
        self._finish_thread()

    def _finish_thread(self) -> None:
        if self._worker is not None:
            self._worker.wait(10_000)  # it has reported: only the return from run() is left
        self._cleanup_thread()
        self._set_running(False)
        if self._close_when_stopped:
            self._close_when_stopped = False
            self.close()
        else:
            self.summary_view.setFocus()

    def _cleanup_thread(self) -> None:
        if self._worker is not None:
            self._worker.deleteLater()
        self._worker = None

    # ------------------------------------------------------------------------------- helpers
    def _set_running(self, running: bool) -> None:
        for widget in (self.folder_edit, self.browse_button, self.recursive_check, self.output_combo,
                       self.sidecar_combo, self.metadata_check, self.detail_check, self.start_button):
            widget.setEnabled(not running)
        self.replace_alt_check.setEnabled(not running and self.metadata_check.isChecked())
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.pause_button.setText(_("&Pause"))
        self.pause_button.setAccessibleName(_("Pause"))

    def _set_status(self, message: str, *, assertive: bool = False) -> None:
        announce(self, message, assertive=assertive, label=self.status_label)

    def _say(self, text: str) -> None:
        try:
            self.speaker.say(text, interrupt=False)
        except Exception:  # noqa: BLE001 - speech trouble must not stop the batch; it is on screen too
            log.exception("speaking batch progress failed")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.running:
            # Stop cleanly first (finished results are in the journal); close when the worker is done.
            self._close_when_stopped = True
            self.cancel()
            event.ignore()
            return
        super().closeEvent(event)

    def reject(self) -> None:  # Escape
        if self.running:
            self._close_when_stopped = True
            self.cancel()
            return
        super().reject()
