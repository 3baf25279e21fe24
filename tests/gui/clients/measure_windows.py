"""Run in its own process (the scale comes from the environment, read when Qt starts): prints, as JSON, each
window's minimum size in device pixels, and saves a screenshot of each at that size into argv[1]."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the checkout: tests.fixtures

from PySide6.QtWidgets import QApplication, QLayout

from describe_aloud.engine.config import Settings
from describe_aloud.engine.history import HistoryStore
from describe_aloud.engine.speech import Voice
from describe_aloud.gui.batch_dialog import BatchDialog
from describe_aloud.gui.history_view import HistoryDialog
from describe_aloud.gui.main_window import MainWindow
from describe_aloud.gui.settings_dialog import SettingsDialog
from tests.fixtures.qt import RecordingSpeaker

app = QApplication([])
out = Path(sys.argv[1])
store = HistoryStore(Path(":memory:"))
windows = {
    "main": MainWindow(),
    "settings": SettingsDialog(Settings(), voices=[Voice(id="en", name="English", languages=["en"])]),
    "history": HistoryDialog(store, lambda text: None),
    "batch": BatchDialog(None, Settings(), RecordingSpeaker()),
}
sizes = {}
for name, window in windows.items():
    window.show()
    app.processEvents()
    previous = None
    for _ in range(8):  # at its minimum width the buttons wrap, which raises the minimum height: settle
        for layout in window.findChildren(QLayout):
            layout.invalidate()
        window.layout().activate()
        hint = window.minimumSizeHint().expandedTo(window.minimumSize())
        layout = window.layout()
        if layout is not None and layout.hasHeightForWidth():
            hint.setHeight(max(hint.height(), layout.totalMinimumHeightForWidth(hint.width())))
        if hint == previous:
            break
        window.resize(hint)
        app.processEvents()
        previous = hint
    ratio = window.devicePixelRatioF()
    window.grab().save(str(out / f"fit_{name}.png"))
    sizes[name] = [round(hint.width() * ratio), round(hint.height() * ratio)]
main = windows["main"]
bar = main.buttons["open_image"].parentWidget()
# At its minimum size nothing in the main window overlaps: the wrapped buttons end above the status line.
sizes["main_buttons_clear_of_status"] = bar.geometry().bottom() < main.status_label.geometry().top()
print(json.dumps(sizes))
