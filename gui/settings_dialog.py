"""Settings: model, precision, detail, OCR, speech, hotkeys, tray. Every change is saved at once.

Threading contract: GUI thread only. The dialog edits a `Settings` object in place, saves it
(`Settings.save_changes`, atomic, only the changed fields) and emits `settings_changed(field_names)` so the controller applies just what
changed (a new model is loaded by the worker, never here).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from describe_aloud.engine.catalog import CAPTIONERS
from describe_aloud.engine.config import DEFAULT_HOTKEYS, Settings
from describe_aloud.engine.device import PRECISION_LABELS
from describe_aloud.engine.errors import user_message
from describe_aloud.engine.i18n import _
from describe_aloud.engine.speech import Voice
from describe_aloud.gui.actions import action_label
from describe_aloud.gui.announce import announce
from describe_aloud.gui.hotkeys import ComboError, parse_combo
from describe_aloud.gui.language_settings import language_group
from describe_aloud.gui.scrolling import scrolling
from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)


def voice_choices(voices: Iterable[Voice]) -> list[tuple[str, str]]:
    """(id, label) pairs for the voice list: the name, and up to two of its languages."""
    return [(voice.id, f"{voice.name} ({', '.join(voice.languages[:2])})" if voice.languages else voice.name)
            for voice in voices]


def hotkey_to_qt(combo: str) -> str:
    """"ctrl+alt+d" -> "Ctrl+Alt+D" (what QKeySequence reads)."""
    return "+".join(part.strip().capitalize() if len(part.strip()) > 1 else part.strip().upper()
                    for part in combo.split("+") if part.strip())


def qt_to_hotkey(sequence: str) -> str:
    """"Ctrl+Alt+D" -> "ctrl+alt+d" (how settings store hotkeys)."""
    return sequence.strip().lower()


class SettingsDialog(QDialog):
    settings_changed = Signal(list)  # names of the Settings fields that changed

    def __init__(self, settings: Settings, *, voices: Iterable[Voice] = (), parent: QWidget | None = None,
                 tray_available: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("SettingsDialog")
        self.setWindowTitle(_("Settings"))
        self.settings = settings
        self._loading = True
        layout = QVBoxLayout(self)
        # The groups scroll: at 200 % text they are taller than a laptop screen.
        content = QWidget(self)
        groups = QVBoxLayout(content)
        groups.addWidget(self._describing_group())
        groups.addWidget(self._speech_group(voice_choices(voices)))
        groups.addWidget(self._hotkeys_group())
        groups.addWidget(self._app_group(tray_available))
        self.language_group = language_group(settings, self._set, content)
        groups.addWidget(self.language_group)
        layout.addWidget(scrolling(content, _("Settings"), self), 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName(_("Close settings"))
        close.setAccessibleDescription(_("Settings are saved as you change them."))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._loading = False

    # Groups --------------------------------------------------------------------------------------
    def _describing_group(self) -> QGroupBox:
        group = QGroupBox(_("Describing"), self)
        form = QFormLayout(group)

        self.model_combo = QComboBox(group)
        self.model_combo.setEditable(True)
        self.model_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for entry in CAPTIONERS:
            self.model_combo.addItem(f"{entry.name} ({entry.params_m}M, {_(entry.note)})", entry.name)
        self._set_combo_text(self.model_combo, self.settings.model)
        self.model_combo.lineEdit().editingFinished.connect(self._model_edited)
        self.model_combo.activated.connect(self._model_chosen)
        _name(self.model_combo, _("Captioner model"),
              _("A catalog name, a Hugging Face id, or a folder or checkpoint on this computer."))
        browse = QPushButton(_("Choose model folder…"), group)
        _name(browse, _("Choose model folder"), _("Pick a folder or checkpoint file holding a captioner."))
        browse.clicked.connect(self._browse_model)
        row = QHBoxLayout()
        row.addWidget(self.model_combo, 1)
        row.addWidget(browse)
        model_label = QLabel(_("Captioner &model:"), group)
        model_label.setBuddy(self.model_combo)
        form.addRow(model_label, row)

        self.detail_model_combo = QComboBox(group)
        self.detail_model_combo.setEditable(True)
        self.detail_model_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for entry in CAPTIONERS:
            self.detail_model_combo.addItem(entry.name, entry.name)
        self._set_combo_text(self.detail_model_combo, self.settings.detail_model)
        self.detail_model_combo.lineEdit().editingFinished.connect(
            lambda: self._set("detail_model", self.detail_model_combo.currentText().strip() or None))
        self.detail_model_combo.activated.connect(
            lambda i: self._set("detail_model", self.detail_model_combo.itemData(i)))
        _name(self.detail_model_combo, _("Model for more detail"),
              _("Used by More detail (Ctrl+D); loaded the first time it is needed."))
        form.addRow(_label(_("Model for more &detail:"), self.detail_model_combo, group), self.detail_model_combo)

        self.precision_combo = QComboBox(group)
        for value, label in PRECISION_LABELS.items():
            self.precision_combo.addItem(_(label), value)
        self.precision_combo.setCurrentIndex(max(0, self.precision_combo.findData(self.settings.precision)))
        self.precision_combo.currentIndexChanged.connect(
            lambda i: self._set("precision", self.precision_combo.itemData(i)))
        _name(self.precision_combo, _("Precision"), _("How the model computes: faster or more exact."))
        form.addRow(_label(_("&Precision:"), self.precision_combo, group), self.precision_combo)

        self.detail_check = QCheckBox(_("Detailed descriptions by default (slower)"), group)
        self.detail_check.setChecked(bool(self.settings.detail))
        self.detail_check.toggled.connect(lambda on: self._set("detail", on))
        _name(self.detail_check, _("Detailed descriptions by default"))
        form.addRow(self.detail_check)

        self.ocr_check = QCheckBox(_("Speak text read from the image"), group)
        self.ocr_check.setChecked(bool(self.settings.speak_ocr))
        self.ocr_check.toggled.connect(lambda on: self._set("speak_ocr", on))
        _name(self.ocr_check, _("Speak text read from the image"))
        form.addRow(self.ocr_check)
        return group

    def _speech_group(self, voices: list[tuple[str, str]]) -> QGroupBox:
        group = QGroupBox(_("Speech"), self)
        form = QFormLayout(group)

        self.output_combo = QComboBox(group)
        self.output_combo.addItem(_("Automatic: my screen reader when one runs, else this app's voice"), "auto")
        self.output_combo.addItem(_("This app's own voice"), "own")
        self.output_combo.addItem(_("My screen reader"), "screen_reader")
        self.output_combo.setCurrentIndex(max(0, self.output_combo.findData(self.settings.speech_output)))
        self.output_combo.currentIndexChanged.connect(
            lambda i: self._set("speech_output", self.output_combo.itemData(i)))
        _name(self.output_combo, _("Speak with"),
              _("Hand the text to your screen reader (in its voice) or use this app's own voice."))
        form.addRow(_label(_("Speak &with:"), self.output_combo, group), self.output_combo)

        self.voice_combo = QComboBox(group)
        self.voice_combo.addItem(_("Default voice"), None)
        for vid, label in voices:
            self.voice_combo.addItem(label, vid)
        self.voice_combo.setCurrentIndex(max(0, self.voice_combo.findData(self.settings.voice)))
        self.voice_combo.currentIndexChanged.connect(lambda i: self._set("voice", self.voice_combo.itemData(i)))
        _name(self.voice_combo, _("Voice"))
        form.addRow(_label(_("&Voice:"), self.voice_combo, group), self.voice_combo)

        self.rate_spin = QSpinBox(group)
        self.rate_spin.setRange(80, 450)
        self.rate_spin.setSingleStep(10)
        self.rate_spin.setSuffix(_(" words per minute"))
        self.rate_spin.setValue(int(self.settings.rate))
        self.rate_spin.valueChanged.connect(lambda v: self._set("rate", int(v)))
        _name(self.rate_spin, _("Speech rate"), _("Words per minute."))
        form.addRow(_label(_("&Rate:"), self.rate_spin, group), self.rate_spin)

        self.volume_spin = QDoubleSpinBox(group)
        self.volume_spin.setRange(0.0, 100.0)
        self.volume_spin.setDecimals(0)
        self.volume_spin.setSingleStep(10)
        self.volume_spin.setSuffix(" %")
        self.volume_spin.setValue(round(float(self.settings.volume) * 100))
        self.volume_spin.valueChanged.connect(lambda v: self._set("volume", round(v / 100.0, 2)))
        _name(self.volume_spin, _("Volume"), _("Percent of full volume."))
        form.addRow(_label(_("V&olume:"), self.volume_spin, group), self.volume_spin)

        self.earcons_check = QCheckBox(_("Play short sounds when capturing, done and on errors"), group)
        self.earcons_check.setChecked(bool(self.settings.earcons))
        self.earcons_check.toggled.connect(lambda on: self._set("earcons", on))
        _name(self.earcons_check, _("Play short sounds"))
        form.addRow(self.earcons_check)
        return group

    def _hotkeys_group(self) -> QGroupBox:
        group = QGroupBox(_("Global hotkeys (work in every application)"), self)
        form = QFormLayout(group)
        self.hotkey_edits: dict[str, QLineEdit] = {}
        # Repeat and Show have no default hotkey, but may be given one.
        names = list(dict.fromkeys([*DEFAULT_HOTKEYS, "repeat", "show", *self.settings.hotkeys]))
        for action in names:
            label_text = action_label(action)
            edit = QLineEdit(hotkey_to_qt(self.settings.hotkeys.get(action, "")), group)
            edit.setPlaceholderText(_("none"))
            edit.setClearButtonEnabled(True)
            edit.editingFinished.connect(lambda a=action, e=edit: self._hotkey_edited(a, e))
            _name(edit, hotkey_field_name(label_text, edit.text()),
                  _("Type a combination such as Ctrl+Alt+D; leave it empty for none."))
            # The value is in the name, so a screen reader says the whole combination, or "none" for an
            # empty field, as soon as Tab reaches it (reading the text alone said nothing for an empty
            # field and dropped the last key of a filled one).
            edit.textChanged.connect(lambda text, e=edit, l=label_text: e.setAccessibleName(hotkey_field_name(l, text)))
            form.addRow(_label(f"{label_text}:", edit, group), edit)
            self.hotkey_edits[action] = edit
        self.hotkey_error = QLabel("", group)
        self.hotkey_error.setWordWrap(True)
        form.addRow(self.hotkey_error)
        return group

    def _app_group(self, tray_available: bool) -> QGroupBox:
        group = QGroupBox(_("Window and tray"), self)
        form = QFormLayout(group)
        self.start_min_check = QCheckBox(_("Start minimised to the tray"), group)
        self.start_min_check.setChecked(bool(self.settings.start_minimised))
        self.start_min_check.toggled.connect(lambda on: self._set("start_minimised", on))
        _name(self.start_min_check, _("Start minimised to the tray"))
        self.close_tray_check = QCheckBox(_("Closing the window keeps the app running in the tray"), group)
        self.close_tray_check.setChecked(bool(self.settings.close_to_tray))
        self.close_tray_check.toggled.connect(lambda on: self._set("close_to_tray", on))
        _name(self.close_tray_check, _("Closing the window keeps the app running in the tray"),
              _("When off, closing the window quits the app."))
        for check in (self.start_min_check, self.close_tray_check):
            if not tray_available:
                check.setToolTip(_("There is no system tray on this desktop."))
            form.addRow(check)
        return group

    # Changes -----------------------------------------------------------------------------------------
    def _set(self, field: str, value: Any) -> None:
        if self._loading or getattr(self.settings, field) == value:
            return
        setattr(self.settings, field, value)
        self._save([field])

    def _save(self, fields: list[str]) -> None:
        # Only these fields: what other programs saved meanwhile is taken over and applied too.
        outside = self.settings.save_changes(fields)
        self.settings_changed.emit(fields + [name for name in outside if name not in fields])

    def _model_chosen(self, index: int) -> None:
        self._set("model", self.model_combo.itemData(index))

    def _model_edited(self) -> None:
        text = self.model_combo.currentText().strip()
        index = self.model_combo.findText(text)
        value = self.model_combo.itemData(index) if index >= 0 else text
        if value:
            self._set("model", value)

    def _browse_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, _("Choose a model folder"))
        if folder:
            self.model_combo.setEditText(folder)
            self._set("model", folder)

    def _hotkey_edited(self, action: str, edit: QLineEdit) -> None:
        text = edit.text().strip()
        if text and QKeySequence(text).isEmpty():
            announce(self.hotkey_error, _("{text!r} is not a key combination; try e.g. Ctrl+Alt+D.").format(text=text),
                     assertive=True, label=self.hotkey_error)
            return
        value = qt_to_hotkey(text)
        problem = _combo_problem(value) if value else None
        if problem:
            announce(self.hotkey_error, problem, assertive=True, label=self.hotkey_error)
            return
        self.hotkey_error.setText("")
        if self.settings.hotkeys.get(action, "") == value:
            return
        self.settings.hotkeys = {**self.settings.hotkeys, action: value}
        self._save(["hotkeys"])

    def _set_combo_text(self, combo: QComboBox, value: str | None) -> None:
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)
        else:
            combo.setEditText(value or "")


def hotkey_field_name(action_label: str, combo: str) -> str:
    """The accessible name of a hotkey field: the action and its whole combination, or none."""
    combo = combo.strip()
    if not combo:
        return _("Hotkey for {action}: none").format(action=action_label)
    return _("Hotkey for {action}: {combo}").format(action=action_label, combo=combo)


def _name(widget: QWidget, name: str, description: str = "") -> None:
    widget.setAccessibleName(name)
    if description:
        widget.setAccessibleDescription(description)
        widget.setToolTip(description)


def _label(text: str, buddy: QWidget, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setBuddy(buddy)
    return label


def _combo_problem(combo: str) -> str | None:
    """Why the hotkey manager would refuse `combo` (a sentence), or None."""
    try:
        parse_combo(combo)
    except ComboError as exc:
        return user_message(exc)
    return None
