"""A dialog's controls in a scroll area that fits any screen at 200 % text: the area itself is no Tab stop
(Tab goes through the controls and the area follows the focus), it has a name a screen reader can say, and
long combo box entries no longer set the dialog's minimum width."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QFrame, QScrollArea, QWidget


def scrolling(content: QWidget, name: str, parent: QWidget) -> QScrollArea:
    """`content` inside a frameless, resizable scroll area named `name` (already translated)."""
    for combo in content.findChildren(QComboBox):
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(16)
    for form in content.findChildren(QFormLayout):
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # labels above fields when narrow
    scroll = QScrollArea(parent)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    scroll.setAccessibleName(name)
    scroll.setWidget(content)
    return scroll
