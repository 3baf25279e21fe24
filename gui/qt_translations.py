"""Qt's own words in the app's language: the standard dialogs' buttons (OK, Cancel, Open...), the file
dialog, the context menus of text fields. PySide6 ships Qt's translations (`qtbase_<lang>.qm`) in
`QLibraryInfo.path(TranslationsPath)`; the one for the app's language (engine.i18n) is installed on the
QApplication. The app's own strings are gettext's (engine.i18n), not Qt's.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator
from PySide6.QtWidgets import QApplication

from describe_aloud.engine.i18n import current_language

log = logging.getLogger(__name__)

QT_CATALOGS = ("qtbase",)


def install_qt_translations(app: QApplication, language: str | None = None) -> list[QTranslator]:
    """Install Qt's translations for `language` (default: the app's, e.g. "zh_CN") on `app`, and make it
    the default QLocale (number formats, standard dialogs). Returns the translators installed (kept
    owned by the app, their parent); none for English or a language Qt lacks."""
    language = language or current_language()
    QLocale.setDefault(QLocale(language))
    installed: list[QTranslator] = []
    if language.split("_")[0] == "en":
        return installed
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    for catalog in QT_CATALOGS:
        translator = QTranslator(app)
        # QTranslator tries qtbase_zh_CN, then qtbase_zh: the same fallback as gettext's.
        if translator.load(QLocale(language), catalog, "_", folder):
            app.installTranslator(translator)
            installed.append(translator)
        else:
            log.info("Qt has no %s translation for %s in %s", catalog, language, folder)
    return installed
