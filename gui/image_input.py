"""Where images come from besides the screen, and where text goes: the clipboard, the open-file dialog,
dropped data.

Threading contract: GUI thread only (the clipboard and dialogs are Qt GUI objects).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog, QWidget

from describe_aloud.engine.i18n import _
from describe_aloud.engine.images import to_rgb

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.gif *.tif *.tiff *.heic *.heif);;All files (*)"


def local_paths(mime: QMimeData) -> list[str]:
    """The local files named by drag-and-drop or clipboard data (URLs or plain text paths)."""
    paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
    if not paths and mime.hasText():
        for line in mime.text().splitlines():
            line = line.strip()
            if line.startswith("file://"):
                line = QUrl(line).toLocalFile()
            if line and Path(line).is_file():
                paths.append(line)
    return [p for p in paths if p]


def qimage_to_pil(image: QImage) -> Image.Image:
    """A QImage (pasted or dropped) as an RGB PIL image, alpha composited on white like a viewer."""
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    width, height = rgba.width(), rgba.height()
    data = bytes(rgba.constBits())[: rgba.bytesPerLine() * height]
    pil = Image.frombuffer("RGBA", (width, height), data, "raw", "RGBA", rgba.bytesPerLine(), 1)
    return to_rgb(pil)


@dataclass
class ClipboardContent:
    """What the clipboard holds for describing: image files (copied in a file manager) or image data."""

    paths: list[str]
    image: QImage | None


def clipboard_content() -> ClipboardContent:
    clipboard = QGuiApplication.clipboard()
    mime = clipboard.mimeData()
    paths = local_paths(mime) if mime is not None else []
    if paths:
        return ClipboardContent(paths, None)
    image = clipboard.image()
    return ClipboardContent([], None if image.isNull() else image)


def copy_text(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


def choose_images(parent: QWidget) -> list[str]:
    """Ask for image files to describe (a modal file dialog); [] when cancelled."""
    paths, _filter = QFileDialog.getOpenFileNames(parent, _("Open images to describe"), "", IMAGE_FILTER)
    return paths
