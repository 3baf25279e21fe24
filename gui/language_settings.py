"""The Language group of Settings: the app's language (the system's, or one with a catalog) and whether the
text read from images is translated too. The language takes effect at the next start (every label, menu
and the translation model follow it); the read-text choice at once.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGroupBox, QLabel, QWidget

from describe_aloud.engine.config import Settings
from describe_aloud.engine.i18n import _, available_languages, language_name, system_language


def language_group(settings: Settings, set_value: Callable[[str, object], None], parent: QWidget) -> QGroupBox:
    """The group; `set_value(field, value)` saves a change (SettingsDialog._set)."""
    group = QGroupBox(_("Language"), parent)
    group.setObjectName("LanguageGroup")
    form = QFormLayout(group)

    combo = QComboBox(group)
    combo.setObjectName("LanguageCombo")
    combo.addItem(_("The system's language ({name})").format(name=language_name(system_language())), None)
    for code in available_languages():
        combo.addItem(language_name(code), code)
    combo.setCurrentIndex(max(0, combo.findData(settings.language)))
    combo.currentIndexChanged.connect(lambda i: set_value("language", combo.itemData(i)))
    combo.setAccessibleName(_("Language of the app"))
    hint = _("The menus, messages and descriptions use this language from the next start.")
    combo.setAccessibleDescription(hint)
    combo.setToolTip(hint)
    label = QLabel(_("&Language:"), group)
    label.setBuddy(combo)
    form.addRow(label, combo)

    check = QCheckBox(_("Translate the text read from images"), group)
    check.setObjectName("TranslateTextCheck")
    check.setChecked(bool(settings.translate_text))
    check.toggled.connect(lambda on: set_value("translate_text", on))
    check.setAccessibleName(_("Translate the text read from images"))
    exact = _("When off, text read from an image is said exactly as it is written.")
    check.setAccessibleDescription(exact)
    check.setToolTip(exact)
    form.addRow(check)
    group.language_combo = combo  # for tests and keyboard focus
    group.translate_text_check = check
    return group
