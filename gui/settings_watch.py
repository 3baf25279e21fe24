"""Settings changed by another program while the app runs (`voices --volume 0.5`, a hand edit of
settings.json) are taken over and applied, instead of being undone at the app's next save.

The folder is watched for saves that replace the file (atomic saves, most editors: the watch on the old
file ends there), and the file itself for edits in place; after each change the file is watched again.
Our own saves come back here too and change nothing. A file that does not parse once SETTLE_MS passed
after its last change (a hand edit with a mistake: editors save a file whole) is said, with where the
mistake is, and read again at its next change; the app keeps its settings meanwhile.

Threading contract: GUI thread only.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from describe_aloud.engine.config import Settings, settings_path
from describe_aloud.engine.i18n import _

log = logging.getLogger(__name__)

# Editors and atomic saves touch the folder several times for one change: read once they are done.
SETTLE_MS = 300


class SettingsWatcher(QObject):
    """`changed(field_names)` after fields of `settings` were taken over from the file; `problem(note)`
    when the file holds values that cannot be used (it is kept aside; the app keeps its own)."""

    changed = Signal(list)
    problem = Signal(str)

    def __init__(self, settings: Settings, path: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.path = path or settings_path()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SETTLE_MS)
        self._timer.timeout.connect(self.check)
        self._last_content = self._read()  # what the app started with (its notes were said then)
        self._watcher = QFileSystemWatcher(self)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            log.warning("settings folder unavailable: changes from other programs are not seen", exc_info=True)
            return
        if not self._watcher.addPath(str(self.path.parent)):
            log.warning("cannot watch %s: changes from other programs are not seen", self.path.parent)
        self._watch_file()
        self._watcher.directoryChanged.connect(lambda _folder: self._timer.start())
        self._watcher.fileChanged.connect(lambda _file: self._timer.start())

    def _watch_file(self) -> None:
        if self.path.exists() and str(self.path) not in self._watcher.files():
            self._watcher.addPath(str(self.path))

    def _read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except OSError:
            return None

    def check(self) -> None:
        self._watch_file()  # a replaced file is a new file
        content = self._read()
        if content is None or content == self._last_content:
            return  # the folder changed, not the file (a temporary file, a copy kept aside...)
        self._last_content = content
        mistake = _mistake_in(content)
        if mistake:
            self.problem.emit(mistake)
            return
        try:
            names, unusable = self.settings.reload(self.path)
        except Exception:  # noqa: BLE001 - the app goes on with the settings it has
            log.warning("reading the changed settings failed", exc_info=True)
            return
        if unusable:
            self.problem.emit(_("The settings file has values that cannot be used ({names}); the app keeps its "
                                "current values for them.").format(names=", ".join(unusable)))
        if names:
            log.info("settings changed by another program: %s", ", ".join(names))
            self.changed.emit(names)


def _mistake_in(content: bytes) -> str | None:
    """What is wrong with a settings file that does not parse, as a sentence; None when it parses."""
    try:
        json.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        where = _("it is not UTF-8 text")
    except ValueError as exc:
        line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
        where = (_("line {line}, column {column}").format(line=line, column=column) if line and column
                 else _("it is not JSON"))
    else:
        return None
    return _("The settings file has a mistake ({where}); the app keeps its current settings until it is "
             "corrected.").format(where=where)
