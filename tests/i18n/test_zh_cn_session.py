"""A Simplified Chinese session end to end (offscreen): with the language set to zh_CN, the window title,
the menus and the buttons' accessible names are Chinese, Qt's own dialogs say 取消, and a described photo is
spoken in Chinese: the sentence templates from the zh_CN catalog, the caption from the (tiny, random-weight)
translation model loaded by the worker from the hub cache through the production path."""
from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from describe_aloud.engine.config import hub_cache_dir
from describe_aloud.engine.i18n import set_language
from tests.fixtures.images import photo_image
from tests.fixtures.tiny_models import install_in_hub_cache

HAN = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
JOB_MS = 180_000


@pytest.fixture
def chinese():
    set_language("zh_CN")
    yield
    set_language("en")


def is_chinese(text: str) -> bool:
    """Chinese characters and no English word (shortcut key names like Ctrl+D are allowed)."""
    without_keys = re.sub(r"(Ctrl|Alt|Shift|Meta|Esc|F\d+)\b", "", text)
    return bool(HAN.search(text)) and not ENGLISH_WORD.search(without_keys)


def test_a_chinese_session_shows_and_speaks_chinese(qtbot, make_app, chinese, tiny_git_dir, tiny_marian_dir):
    install_in_hub_cache(tiny_marian_dir, "Helsinki-NLP/opus-mt-en-zh", hub_cache_dir())
    controller = make_app(model=tiny_git_dir)
    window = controller.window
    assert is_chinese(window.windowTitle()), window.windowTitle()
    for name, button in window.buttons.items():
        assert is_chinese(button.accessibleName()), (name, button.accessibleName())
        assert is_chinese(button.text()), (name, button.text())
    for menu_action in window.menuBar().actions():
        assert is_chinese(menu_action.text()), menu_action.text()
    assert is_chinese(window.result_view.accessibleName())

    speaker = controller.test_speaker
    speaker.said.clear()
    controller.describe_image(photo_image(), "photo")
    qtbot.waitUntil(lambda: len(speaker.said) >= 1, timeout=JOB_MS)
    spoken = speaker.said[-1][0]
    assert spoken.startswith("图片。"), spoken  # "Picture." from the zh_CN catalog
    assert "模型猜测" in spoken  # "The model guesses: ..." from the catalog
    assert is_chinese(spoken), spoken  # the caption itself came through the translation model
    assert is_chinese(window.result_text())


def test_the_settings_dialog_is_chinese_and_offers_the_languages(qtbot, chinese):
    from describe_aloud.engine.config import Settings
    from describe_aloud.gui.settings_dialog import SettingsDialog

    settings = Settings()
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    assert is_chinese(dialog.windowTitle())
    combo = dialog.language_group.language_combo
    names = [combo.itemText(i) for i in range(combo.count())]
    assert any(n.startswith("中文") for n in names) and "Deutsch" in names  # each in its own language
    combo.setCurrentIndex(combo.findData("zh_CN"))
    assert Settings.load().language == "zh_CN"  # saved at once
    check = dialog.language_group.translate_text_check
    assert is_chinese(check.text()) and not settings.translate_text
    check.setChecked(True)
    assert Settings.load().translate_text is True


def test_qt_standard_dialogs_use_qts_chinese_translation(qtbot):
    from describe_aloud.gui.qt_translations import install_qt_translations

    app = QApplication.instance()
    installed = install_qt_translations(app, "zh_CN")
    try:
        assert installed, "PySide6 ships qtbase_zh_CN.qm"
        assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "取消"
    finally:
        for translator in installed:
            app.removeTranslator(translator)
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Cancel"
