"""Screenshots of the main window (after a real description with a tiny model) and of the settings dialog,
written to tests/output/ (gitignored) for a person to review."""
from __future__ import annotations

from pathlib import Path

from PIL import Image

from describe_aloud.gui.settings_dialog import SettingsDialog
from tests.fixtures.images import TEXT_LINES, text_image

OUTPUT = Path(__file__).resolve().parents[1] / "output"


def _not_blank(path: Path) -> bool:
    image = Image.open(path).convert("L")
    low, high = image.getextrema()
    return high - low > 100


def test_main_window_screenshot(qtbot, make_app, tiny_git_dir):
    controller = make_app(model=tiny_git_dir)
    window = controller.window
    window.resize(900, 520)
    window.show()
    controller.describe_image(text_image(TEXT_LINES), "shopping-list.png")
    qtbot.waitUntil(lambda: "shopping" in window.result_text().lower(), timeout=120_000)
    qtbot.wait(50)
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / "main_window.png"
    assert window.grab().save(str(path))
    assert path.stat().st_size > 5_000
    assert _not_blank(path)
    width, height = Image.open(path).size
    assert width >= 600 and height >= 300


def test_settings_dialog_screenshot(qtbot, make_app, tiny_git_dir):
    controller = make_app(model=tiny_git_dir)
    dialog = SettingsDialog(controller.settings, voices=controller.speaker.voices(), parent=controller.window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.wait(50)
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / "settings_dialog.png"
    assert dialog.grab().save(str(path))
    assert _not_blank(path)


def test_history_window_screenshot(qtbot, make_app, tiny_git_dir):
    controller = make_app(model=tiny_git_dir)
    controller.describe_image(text_image(TEXT_LINES), "shopping-list.png")
    qtbot.waitUntil(lambda: controller.last is not None, timeout=120_000)
    controller.show_history()
    dialog = controller.history_dialog
    qtbot.wait(50)
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / "history_window.png"
    assert dialog.grab().save(str(path))
    assert _not_blank(path)
    dialog.close()
