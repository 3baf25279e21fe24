"""The main window with the real worker and a tiny model: open / drop / paste, repeat, stop, copy, more
detail, errors spoken and shown, history written, focus on the result."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from describe_aloud.engine.invocation import user_command
from describe_aloud.engine.history import HistoryStore
from describe_aloud.gui.actions import ACTIONS
from tests.fixtures.images import TEXT_LINES, photo_image, png_bytes, text_image

JOB_MS = 120_000


def drop(window, mime: QMimeData) -> None:
    pos = QPointF(window.width() / 2, window.height() / 2)
    event = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)



def test_every_action_shows_its_shortcut_in_tooltip_and_menu(qtbot, make_app, tiny_git_dir):
    controller = make_app(model=tiny_git_dir)
    window = controller.window
    for spec in ACTIONS:
        action = window.action(spec.name)
        if spec.shortcuts:
            assert action.shortcuts(), spec.name
            assert action.shortcuts()[0].toString() in action.toolTip(), spec.name
    menu_actions = {a for menu in window.menuBar().actions() for a in menu.menu().actions()}
    for spec in ACTIONS:
        if spec.menu != "Tray":
            assert window.action(spec.name) in menu_actions, spec.name


def test_dropping_files_describes_each_and_records_history(qtbot, make_app, tiny_git_dir, tmp_path):
    controller = make_app(model=tiny_git_dir)
    speaker = controller.test_speaker
    first, second = tmp_path / "garden.png", tmp_path / "list.png"
    first.write_bytes(png_bytes(photo_image()))
    second.write_bytes(png_bytes(text_image(TEXT_LINES)))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(first)), QUrl.fromLocalFile(str(second))])
    speaker.said.clear()
    drop(controller.window, mime)
    qtbot.waitUntil(lambda: len(speaker.said) >= 2, timeout=JOB_MS)
    (text1, interrupt1), (text2, interrupt2) = speaker.said[-2:]
    assert interrupt1 is True and interrupt2 is False  # the second waits for the first
    assert "shopping" in text2.lower()
    # Shown one part per line, and the read text one line per line of the image.
    shown = controller.window.result_text().splitlines()
    assert shown[0] == "Document with text."
    assert shown[1:5] == ["Text:", "  Tuesday shopping list", "  Bread and butter", "  Fresh oranges"]
    assert shown[5].startswith("Could be:")
    with HistoryStore() as store:
        sources = [e.source for e in store.recent()]
    assert sources == [str(second), str(first)]


def test_paste_image_data_focuses_the_result_and_repeat_stop_copy(qtbot, make_app, tiny_git_dir):
    controller = make_app(model=tiny_git_dir)
    window, speaker = controller.window, controller.test_speaker
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_F5)  # Repeat before anything was described: said so, not silence
    assert speaker.texts() == ["Nothing has been described yet."]
    image = QImage()
    image.loadFromData(png_bytes(text_image(TEXT_LINES)), "PNG")
    QGuiApplication.clipboard().setImage(image)
    qtbot.keyClick(window, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(speaker.said) > 1, timeout=JOB_MS)
    text = speaker.texts()[-1]
    assert "bread and butter" in text.lower()
    assert "  Bread and butter" in window.result_text().splitlines()
    assert QApplication.focusWidget() is window.result_view
    assert window.status_label.text().startswith("Described clipboard")

    qtbot.keyClick(window.result_view, Qt.Key.Key_F5)
    assert speaker.said[-1] == (text, True)
    qtbot.keyClick(window.result_view, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert len(speaker.said) == 4
    qtbot.keyClick(window.result_view, Qt.Key.Key_Escape)
    assert speaker.stops == 1
    QGuiApplication.clipboard().clear()
    qtbot.keyClick(window.result_view, Qt.Key.Key_C,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert QGuiApplication.clipboard().text() == text  # the words as spoken

    # Ctrl+V also works where the focus usually is: in the (read-only) result view.
    QGuiApplication.clipboard().setImage(image)
    count = len(speaker.said)
    qtbot.keyClick(window.result_view, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(speaker.said) > count, timeout=JOB_MS)
    assert "bread and butter" in speaker.texts()[-1].lower()


def test_paste_with_no_image_is_said(qtbot, make_app, tiny_git_dir):
    controller = make_app(model=tiny_git_dir)
    QGuiApplication.clipboard().setText("just words")
    controller.window.action("paste").trigger()
    assert "clipboard holds no image" in controller.test_speaker.texts()[-1]
    assert "clipboard holds no image" in controller.window.status_label.text()


def test_a_bad_file_is_spoken_and_shown(qtbot, make_app, tiny_git_dir, tmp_path):
    controller = make_app(model=tiny_git_dir)
    bad = tmp_path / "scan.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    controller.describe_paths([str(bad)])
    qtbot.waitUntil(lambda: bool(controller.test_speaker.said), timeout=JOB_MS)
    said = controller.test_speaker.texts()[-1]
    assert "scan.png" in said
    assert "scan.png" in controller.window.status_label.text()
    assert "scan.png" in controller.window.result_text()


def test_more_detail_adds_to_the_description(qtbot, make_app, tiny_git_dir, tiny_florence2_dir):
    controller = make_app(model=tiny_git_dir, detail_model=str(tiny_florence2_dir))
    speaker = controller.test_speaker
    controller.window.action("more_detail").trigger()
    assert "describe an image first" in speaker.texts()[-1]
    controller.describe_image(photo_image(), "garden")
    qtbot.waitUntil(lambda: len(speaker.said) >= 2, timeout=JOB_MS)
    first = controller.window.result_text()
    before = len(speaker.said)
    controller.window.action("more_detail").trigger()
    qtbot.waitUntil(lambda: controller.window.status_label.text() == "More detail added.", timeout=180_000)
    said = speaker.texts()[before:]
    added = said[0]  # the detail is said as soon as it is made, before the objects are looked for
    assert added.startswith("More detail")
    assert all(t.startswith("Objects it may contain") for t in said[1:])  # nothing said twice
    assert controller.window.result_text().startswith(first)
    assert added in controller.window.result_text()
    with HistoryStore() as store:
        assert added in store.latest().text
    shown = controller.window.result_text()
    spoken = len(speaker.said)
    controller.window.action("more_detail").trigger()  # again: said again, not added twice
    qtbot.waitUntil(lambda: added in speaker.texts()[spoken:], timeout=180_000)
    qtbot.wait(500)
    assert controller.window.result_text() == shown
    with HistoryStore() as store:
        assert store.latest().text.count(added) == 1


def test_more_detail_keeps_what_the_history_knew_of_a_screen(qtbot, make_app, tiny_git_dir, tiny_florence2_dir):
    controller = make_app(model=tiny_git_dir, detail_model=str(tiny_florence2_dir))
    controller.describe_image(text_image(TEXT_LINES), "list")
    qtbot.waitUntil(lambda: "shopping" in controller.window.result_text().lower(), timeout=JOB_MS)
    with HistoryStore() as store:
        before = store.latest().to_description()
    controller.window.action("more_detail").trigger()
    qtbot.waitUntil(lambda: controller.window.status_label.text() == "More detail added.", timeout=180_000)
    with HistoryStore() as store:
        after = store.latest().to_description()
    assert after.kind is before.kind and after.caption == before.caption
    assert [t.text for t in after.text_lines] == [t.text for t in before.text_lines]
    assert after.detailed_caption


def test_an_error_or_the_shortcut_list_never_replaces_the_description_being_read(qtbot, make_app, tiny_git_dir):
    from PySide6.QtGui import QGuiApplication

    controller = make_app(model=tiny_git_dir)
    controller.describe_image(text_image(TEXT_LINES), "list")
    qtbot.waitUntil(lambda: "shopping" in controller.window.result_text().lower(), timeout=JOB_MS)
    shown = controller.window.result_text()
    QGuiApplication.clipboard().clear()
    controller.window.action("paste").trigger()
    qtbot.waitUntil(lambda: "clipboard holds no image" in controller.test_speaker.texts()[-1], timeout=JOB_MS)
    assert "clipboard holds no image" in controller.window.status_label.text()  # written, and spoken
    assert controller.window.result_text() == shown
    controller.window.action("shortcuts").trigger()
    dialog = controller.dialogs.shortcuts_dialog
    assert dialog is not None and dialog.isVisible()
    assert "Ctrl+O" in dialog.view.toPlainText()
    assert controller.window.result_text() == shown
    dialog.close()


def test_missing_model_is_announced_with_the_download_command(qtbot, make_app):
    controller = make_app(model="git-base", wait_ready=False)
    qtbot.waitUntil(lambda: controller.model_state == "failed", timeout=JOB_MS)
    assert user_command("models", "download", "git-base") in controller.window.status_label.text()
    assert any(user_command("models", "download", "git-base") in t for t in controller.test_speaker.texts())
    # Text is still read.
    controller.describe_image(text_image(TEXT_LINES), "list")
    qtbot.waitUntil(lambda: "shopping" in controller.window.result_text().lower(), timeout=JOB_MS)


def test_screen_capture_failure_is_reported_not_silent(qtbot, make_app, tiny_git_dir, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    controller = make_app(model=tiny_git_dir)
    controller.dispatch("describe_screen")
    qtbot.waitUntil(lambda: bool(controller.test_speaker.said), timeout=10_000)
    assert controller.window.status_label.text() == controller.test_speaker.texts()[-1]
    assert controller.window.status_label.text() != "Capturing…"


def test_near_black_capture_tells_how_to_grant_permission(qtbot, make_app, tiny_git_dir, monkeypatch):
    import describe_aloud.engine.capture as capture_mod
    from PIL import Image

    def black_capture(target, **kwargs):
        image = Image.new("RGB", (64, 48))
        return capture_mod.CaptureResult(image=image, source=target, box=(0, 0, 64, 48),
                                         near_black=capture_mod.is_near_black(image), elapsed_ms=1.0)

    monkeypatch.setattr(capture_mod, "capture", black_capture)
    controller = make_app(model=tiny_git_dir)
    assert controller.window.isActiveWindow()
    controller.handle_command("describe-screen")  # as the single-instance socket may send it
    assert not controller.window.isVisible()  # hidden from its own capture...
    qtbot.waitUntil(lambda: bool(controller.test_speaker.said), timeout=10_000)
    assert controller.window.isVisible()  # ...and back afterwards
    said = controller.test_speaker.texts()[-1]
    assert said == capture_mod.permission_hint()
    assert controller.worker.pending_count() == 0


def test_capture_hands_the_image_to_the_worker(qtbot, make_app, tiny_git_dir, monkeypatch):
    import describe_aloud.engine.capture as capture_mod

    def fake_screen(target, **kwargs):
        image = text_image(TEXT_LINES, size=(640, 300))
        return capture_mod.CaptureResult(image=image, source=target, box=(0, 0, 640, 300), near_black=False,
                                         elapsed_ms=1.0)

    monkeypatch.setattr(capture_mod, "capture", fake_screen)
    controller = make_app(model=tiny_git_dir)
    speaker = controller.test_speaker
    controller.dispatch("describe_screen")
    qtbot.waitUntil(lambda: len(speaker.said) >= 2, timeout=JOB_MS)
    # A capture is a screen: its text is spoken first, as soon as it is read, then only the hedged caption
    # is added (queued, not cutting the text off): nothing said twice, nothing lost.
    (text, interrupt), (rest, rest_interrupt) = speaker.said
    assert text == "Screen with text. Text: Tuesday shopping list. Bread and butter. Fresh oranges."
    assert interrupt is True
    assert rest.startswith("Could be: ") and rest_interrupt is False
    assert "Picture" not in rest and "The model guesses" not in rest
    with HistoryStore() as store:
        latest = store.latest()
    assert latest.source == "screen"
    assert latest.text == f"{text} {rest}"  # the history and the result view hold the whole description
    assert controller.window.result_text().startswith("Screen with text.")
    assert rest in controller.window.result_text()
    assert latest.description["timings_ms"]["capture"] == 1.0  # the capture stage is timed too
    qtbot.keyClick(controller.window.result_view, Qt.Key.Key_F5)
    assert speaker.said[-1] == (latest.text, True)  # repeat says all of it


def test_stopping_speech_after_the_early_text_also_drops_the_rest(qtbot, make_app, tiny_git_dir, monkeypatch):
    import describe_aloud.engine.capture as capture_mod

    monkeypatch.setattr(capture_mod, "capture", lambda target, **kw: capture_mod.CaptureResult(
        image=text_image(TEXT_LINES, size=(640, 300)), source=target, box=(0, 0, 640, 300), near_black=False,
        elapsed_ms=1.0))
    controller = make_app(model=tiny_git_dir)
    speaker = controller.test_speaker
    real_say = speaker.say

    def say_then_stop(text, interrupt=True):  # the user presses Escape while the text is being read
        real_say(text, interrupt)
        if text.startswith("Screen with text."):
            controller.stop_speech()

    monkeypatch.setattr(speaker, "say", say_then_stop)
    controller.dispatch("describe_screen")
    qtbot.waitUntil(lambda: controller.window.status_label.text() == "Described screen.", timeout=JOB_MS)
    assert len(speaker.said) == 1 and speaker.stops == 1  # the caption was not spoken after the stop
    assert "Could be: " in controller.window.result_text()  # but it is shown, and in the history


def test_our_visible_windows_are_hidden_from_a_capture_and_do_not_take_the_focus(qtbot, make_app, tiny_git_dir,
                                                                                 monkeypatch):
    """Not only when our window is the active one: whenever it (or the history window) is on the screen,
    a capture must not read our own menus and buttons into the description."""
    import describe_aloud.engine.capture as capture_mod
    from PySide6.QtWidgets import QWidget

    seen: list[tuple[bool, bool]] = []

    def capture(target, **kwargs):
        seen.append((controller.window.isVisible(), controller.history_dialog.isVisible()))
        return capture_mod.CaptureResult(image=photo_image(), source=target, box=(0, 0, 320, 240),
                                         near_black=False, elapsed_ms=1.0)

    monkeypatch.setattr(capture_mod, "capture", capture)
    controller = make_app(model=tiny_git_dir)
    controller.show_history()
    other = QWidget()  # the user's application, which has the focus
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitUntil(other.isActiveWindow)
    assert controller.window.isVisible() and not controller.window.isActiveWindow()

    controller.dispatch("describe_screen")
    qtbot.waitUntil(lambda: bool(controller.test_speaker.said), timeout=JOB_MS)
    assert seen == [(False, False)]  # both hidden while the screen was captured
    assert controller.window.isVisible() and controller.history_dialog.isVisible()  # and back afterwards
    assert other.isActiveWindow()  # without taking the focus from the user's application
    with HistoryStore() as store:
        assert 0 <= store.latest().description["timings_ms"]["hide"] < 5_000


def test_close_quits_when_there_is_no_tray(qtbot, make_app, tiny_git_dir):
    controller = make_app(model=tiny_git_dir)
    assert controller.tray is None  # offscreen: no system tray
    controller.window.show()
    controller.window.close()
    assert not controller.worker.isRunning()
    assert controller.test_speaker.closed


def test_settings_change_applies_and_is_saved(qtbot, make_app, tiny_git_dir):
    from describe_aloud.engine.config import Settings
    from describe_aloud.gui.settings_dialog import SettingsDialog

    controller = make_app(model=tiny_git_dir)
    dialog = SettingsDialog(controller.settings, voices=controller.speaker.voices(), parent=controller.window)
    dialog.settings_changed.connect(controller.apply_settings)
    dialog.rate_spin.setValue(240)
    dialog.voice_combo.setCurrentIndex(dialog.voice_combo.findData("en-test"))
    dialog.ocr_check.setChecked(False)
    assert controller.test_speaker.rate == 240
    assert controller.test_speaker.voice == "en-test"
    saved = Settings.load()
    assert (saved.rate, saved.voice, saved.speak_ocr) == (240, "en-test", False)
    edit = dialog.hotkey_edits["describe_screen"]
    edit.setText("Ctrl+Alt+F9")
    edit.editingFinished.emit()
    assert Settings.load().hotkeys["describe_screen"] == "ctrl+alt+f9"
    edit.setText("Q")  # would steal a typing key: refused, said, not saved
    edit.editingFinished.emit()
    assert "typing key" in dialog.hotkey_error.text()
    assert Settings.load().hotkeys["describe_screen"] == "ctrl+alt+f9"
    dialog.close()
    # Text is no longer spoken when "speak OCR text" is off.
    controller.describe_image(text_image(TEXT_LINES), "list")
    qtbot.waitUntil(lambda: bool(controller.test_speaker.said), timeout=JOB_MS)
    assert "shopping" not in controller.test_speaker.texts()[-1].lower()


def test_settings_saved_by_another_program_meanwhile_are_applied_and_never_undone(qtbot, make_app, tiny_git_dir):
    """`voices --rate/--volume` while the app runs: the app takes the change over (and applies it), and
    saving another setting in the app afterwards keeps it."""
    import subprocess
    import sys

    from describe_aloud.engine.config import Settings
    from describe_aloud.gui.settings_dialog import SettingsDialog

    controller = make_app(model=tiny_git_dir)
    dialog = SettingsDialog(controller.settings, voices=controller.speaker.voices(), parent=controller.window)
    dialog.settings_changed.connect(controller.apply_settings)
    dialog.ocr_check.setChecked(False)  # the app has saved its settings once
    main_py = Path(__file__).resolve().parents[2] / "main.py"
    done = subprocess.run([sys.executable, str(main_py), "voices", "--rate", "150", "--volume", "0.5"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    qtbot.waitUntil(lambda: controller.test_speaker.rate == 150, timeout=5000)  # seen and applied
    assert controller.settings.volume == 0.5
    dialog.detail_check.setChecked(True)  # a change in the app after that
    saved = Settings.load()
    assert (saved.rate, saved.volume, saved.detail, saved.speak_ocr) == (150, 0.5, True, False)
    dialog.close()


def test_a_settings_file_being_edited_is_not_taken_over_or_kept_aside(qtbot, make_app, tiny_git_dir):
    from describe_aloud.engine.config import Settings, settings_path

    controller = make_app(model=tiny_git_dir)
    Settings(model=str(tiny_git_dir), earcons=False, rate=200).save()
    qtbot.waitUntil(lambda: controller.settings.rate == 200, timeout=5000)
    settings_path().write_text('{"rate": 120,', encoding="utf-8")  # half-way through a hand edit
    controller.settings_watch.check()
    assert controller.settings.rate == 200 and not controller.settings.load_notes
    assert not list(settings_path().parent.glob("*.damaged-*"))
    settings_path().write_text('{"rate": 120}', encoding="utf-8")  # the edit finished
    qtbot.waitUntil(lambda: controller.settings.rate == 120, timeout=5000)
    problems: list[str] = []
    controller.settings_watch.problem.connect(problems.append)
    settings_path().write_text('{"rate": "fast", "volume": 0.5}', encoding="utf-8")  # one value unusable
    qtbot.waitUntil(lambda: controller.settings.volume == 0.5, timeout=5000)  # the usable one is applied
    qtbot.wait(1000)
    assert controller.settings.rate == 120 and len(problems) == 1 and "rate" in problems[0]  # said once
    assert "keeps its current values" in controller.window.status_label.text()
    assert not list(settings_path().parent.glob("*.damaged-*"))


def test_a_damaged_settings_file_is_said_short_and_shown_with_the_kept_copys_path(qtbot, tiny_git_dir):
    from describe_aloud.engine.config import Settings, settings_path
    from describe_aloud.gui.app import AppController
    from tests.fixtures.qt import RecordingSpeaker

    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text('{"model": ', encoding="utf-8")  # cut short
    settings = Settings.load()
    settings.model, settings.earcons = str(tiny_git_dir), False
    speaker = RecordingSpeaker()
    controller = AppController(settings, speaker_factory=lambda _s, _b: speaker, enable_hotkeys=False,
                               enable_single_instance=False)
    qtbot.addWidget(controller.window)
    try:
        with qtbot.waitSignals([controller.worker.model_ready], timeout=180_000):
            controller.start()
            shown = controller.window.status_label.text()  # before "Ready." replaces it
            name = controller.window.status_label.accessibleName()
        kept = next(settings_path().parent.glob("settings.json.damaged-*"))
        short = ("Your settings file could not be read, so the default settings are used. A copy of it is kept "
                 "in the settings folder.")
        assert short in [text for text, _interrupt in speaker.said]  # heard: short, no path
        assert not any(str(settings_path().parent) in text for text, _interrupt in speaker.said)
        assert name == f"Status: {short}"
        assert shown == ("Your settings file could not be read, so the default settings are used. A copy of it is "
                         f"kept as {kept}.")  # read: where to find it
    finally:
        controller.shutdown()


def test_history_window_searches_and_speaks_again(qtbot, make_app, tiny_git_dir):
    controller = make_app(model=tiny_git_dir)
    speaker = controller.test_speaker
    controller.describe_image(text_image(["Invoice 2041", "Total due"]), "invoice.png")
    qtbot.waitUntil(lambda: len(speaker.said) == 1, timeout=JOB_MS)
    controller.describe_image(photo_image(), "garden.png")
    qtbot.waitUntil(lambda: len(speaker.said) == 2, timeout=JOB_MS)
    invoice_text = speaker.texts()[0]

    controller.window.action("history").trigger()
    dialog = controller.history_dialog
    assert dialog.isVisible()
    assert dialog.list.count() == 2
    assert "garden.png" in dialog.list.item(0).text()  # newest first
    qtbot.keyClicks(dialog.search_edit, "invoice")
    qtbot.waitUntil(lambda: dialog.list.count() == 1, timeout=5_000)
    assert "Invoice 2041" in dialog.detail_view.toPlainText()
    assert "1 description found" in dialog.status_label.text()
    dialog.list.setFocus()
    qtbot.keyClick(dialog.list, Qt.Key.Key_Return)
    assert speaker.said[-1] == (invoice_text, True)
    dialog.close()


def test_closing_hides_to_the_tray_and_keeps_working(qtbot, make_app, tiny_git_dir):
    from describe_aloud.gui.tray import TrayIcon

    controller = make_app(model=tiny_git_dir, close_to_tray=True)
    # Offscreen Qt has no system tray; build the icon anyway to check its menu and the close behaviour.
    controller.attach_tray(TrayIcon(controller.window.actions_by_name, controller.window))
    names = {a.objectName() for a in controller.tray.menu.actions() if a.objectName()}
    assert {"action_show", "action_describe_screen", "action_stop_speech", "action_quit"} <= names
    controller.window.show()
    controller.window.close()
    assert not controller.window.isVisible()
    assert controller.worker.isRunning()
    assert "still running in the tray" in controller.test_speaker.texts()[-1]
    # Still describes while hidden; the tray's Show brings the window back.
    controller.describe_image(photo_image(), "garden")
    qtbot.waitUntil(lambda: len(controller.test_speaker.said) == 2, timeout=JOB_MS)
    controller.tray.show_requested.emit()
    assert controller.window.isVisible()
    controller.window.action("quit").trigger()
    assert not controller.worker.isRunning()


def test_paste_files_and_drop_image_data(qtbot, make_app, tiny_git_dir, tmp_path):
    controller = make_app(model=tiny_git_dir)
    speaker = controller.test_speaker
    path = tmp_path / "copied.png"
    path.write_bytes(png_bytes(text_image(["Copied in a file manager"])))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    QGuiApplication.clipboard().setMimeData(mime)
    controller.window.action("paste").trigger()
    qtbot.waitUntil(lambda: len(speaker.said) == 1, timeout=JOB_MS)
    assert "file manager" in speaker.texts()[0].lower()

    image = QImage()
    image.loadFromData(png_bytes(text_image(["Dragged from a browser"])), "PNG")
    data = QMimeData()
    data.setImageData(image)
    drop(controller.window, data)
    qtbot.waitUntil(lambda: len(speaker.said) == 2, timeout=JOB_MS)
    assert "browser" in speaker.texts()[1].lower()
    with HistoryStore() as store:
        assert [e.source for e in store.recent()] == ["dropped image", str(path)]


def test_a_request_while_the_model_loads_is_said_and_then_described(qtbot, make_app, tiny_git_dir):
    controller = make_app(model=tiny_git_dir, wait_ready=False)
    if controller.model_state == "loading":
        controller.describe_image(photo_image(), "early")
        assert "still loading" in controller.test_speaker.texts()[0]
    qtbot.waitUntil(lambda: controller.last is not None and controller.last.source == "early", timeout=JOB_MS)


def test_files_skipped_for_a_newer_request_are_reported(qtbot, make_app, tiny_git_dir, tmp_path):
    controller = make_app(model=tiny_git_dir)
    paths = []
    for i in range(6):
        path = tmp_path / f"photo{i}.png"
        path.write_bytes(png_bytes(photo_image()))
        paths.append(str(path))
    statuses: list[str] = []
    original = controller.window.set_status
    controller.window.set_status = lambda message, **kw: (statuses.append(message), original(message, **kw))
    controller.describe_paths(paths)
    controller.describe_image(photo_image(), "hotkey")  # the newest request wins
    qtbot.waitUntil(lambda: any("not described because a newer request came first" in m for m in statuses),
                    timeout=5_000)
    notice = next(m for m in statuses if "newer request" in m)
    assert notice.split()[0] in ("5", "6")
    qtbot.waitUntil(lambda: controller.last is not None and controller.last.source == "hotkey", timeout=JOB_MS)
    with HistoryStore() as store:
        described = {e.source for e in store.recent()}
    assert len(described & set(paths)) <= 1  # at most the file already running when the hotkey came


def test_describe_folder_opens_the_batch_dialog_without_blocking(qtbot, make_app, tiny_git_dir):
    controller = make_app(model=tiny_git_dir)
    controller.window.action("describe_folder").trigger()
    dialog = controller.batch_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    controller.window.action("describe_folder").trigger()
    assert controller.batch_dialog is dialog  # one dialog, brought back
    dialog.close()


def test_hotkey_failures_are_reported_once_together(qtbot, make_app, tiny_git_dir):
    controller = make_app(model=tiny_git_dir)
    for action, combo in (("describe_screen", "ctrl+alt+d"), ("describe_window", "ctrl+alt+w"),
                          ("stop_speech", "ctrl+alt+s")):
        controller.hotkey_failures.add(action, combo, f"No X server.\n Bind python main.py {action} instead.")
    qtbot.waitUntil(lambda: bool(controller.test_speaker.said), timeout=5_000)
    qtbot.wait(400)
    assert len(controller.test_speaker.said) == 1
    said = controller.test_speaker.texts()[0]
    assert said == "3 global hotkeys could not be set up. The reasons are in the description area."
    shown = controller.window.result_text().splitlines()
    assert "ctrl+alt+w: No X server. Bind python main.py describe_window instead." in shown


def test_dropping_a_folder_opens_describe_folder_with_it(qtbot, make_app, tiny_git_dir, tmp_path):
    controller = make_app(model=tiny_git_dir)
    folder = tmp_path / "holiday"
    folder.mkdir()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    drop(controller.window, mime)
    dialog = controller.batch_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.folder_edit.text() == str(folder)
    assert controller.worker.pending_count() == 0  # the folder itself is not sent to the describer
    dialog.close()


def test_history_problems_never_cost_the_description(qtbot, make_app, tiny_git_dir, tmp_path, monkeypatch):
    import sqlite3

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the data folder should be")
    monkeypatch.setenv("DESCRIBE_ALOUD_DATA_DIR", str(blocked))
    controller = make_app(model=tiny_git_dir)
    assert controller.history.path == Path(":memory:")
    controller.describe_image(photo_image(), "garden")
    qtbot.waitUntil(lambda: len(controller.test_speaker.said) == 1, timeout=JOB_MS)
    assert controller.history.latest().source == "garden"  # kept until the app closes

    def disk_full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(controller.history, "add", disk_full)
    controller.describe_image(text_image(TEXT_LINES), "list")
    qtbot.waitUntil(lambda: len(controller.test_speaker.said) == 3, timeout=JOB_MS)
    assert "shopping" in controller.test_speaker.texts()[-2].lower()
    assert "history" in controller.test_speaker.texts()[-1].lower()  # said after the description
    assert "shopping" in controller.window.result_text().lower()
