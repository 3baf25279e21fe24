"""What the engine found in one image: its kind, the text read from it, a model's caption and objects.

Plain data. What is said and shown about it is made by engine.render, the one renderer.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels of the original image
# Between the cells of a table row in TextLine.text (shown as a tab, spoken as a pause).
CELL_SEPARATOR = "\t"


class ImageKind(str, Enum):
    PHOTO = "photo"
    SCREEN = "screen"
    DOCUMENT = "document"
    BLANK = "blank"


@dataclass(frozen=True)
class TextLine:
    text: str
    box: Box
    confidence: float
    # Reading order (engine.reading.order): the block (column section, table, title) the line belongs
    # to, and its place among all lines.
    block: int = 0
    index: int = 0
    # BCP 47 language of its script ("zh", "en"...), None when it has no letters (engine.reading.script).
    language: str | None = None

    @property
    def cells(self) -> list[str]:
        """The cells of a table row (one cell for a line that is not in a table)."""
        return self.text.split(CELL_SEPARATOR)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "box": [round(v, 1) for v in self.box], "confidence": round(self.confidence, 3),
                "block": self.block, "index": self.index, "language": self.language}

    @classmethod
    def from_dict(cls, data: dict[str, Any], position: int = 0) -> "TextLine":
        """Also a row saved before lines had a block, index and language: its place in the list is its
        index, and its language is found again from its script."""
        text = data["text"]
        language = data["language"] if "language" in data else _language_of(text)
        return cls(text, tuple(data["box"]), float(data.get("confidence", 1.0)),  # type: ignore[arg-type]
                   block=int(data.get("block", 0)), index=int(data.get("index", position)), language=language)


def _language_of(text: str) -> str | None:
    from describe_aloud.engine.reading.script import language_of  # engine.reading imports this module

    return language_of(text)


@dataclass(frozen=True)
class DetectedObject:
    label: str
    box: Box


@dataclass
class Description:
    kind: ImageKind
    caption: str | None = None
    detailed_caption: str | None = None
    objects: list[DetectedObject] = field(default_factory=list)
    text_lines: list[TextLine] = field(default_factory=list)
    model_id: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    source: str | None = None
    width: int = 0
    height: int = 0
    # Set for a blank image: what it looks like ("all dark grey").
    blank_reason: str | None = None
    # Set when the caption could not be produced (model missing, model error): said to the user.
    caption_error: str | None = None
    # Set when the text could not be read (OCR failed): said to the user.
    ocr_error: str | None = None
    # A file of several pages (a multi-page TIFF scan): which one was described, of how many (0: one page).
    page: int = 0
    pages: int = 0

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.text_lines)

    @property
    def mostly_text(self) -> bool:
        return self.kind in (ImageKind.SCREEN, ImageKind.DOCUMENT)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["text"] = self.text
        data["text_lines"] = [t.to_dict() for t in self.text_lines]
        data["objects"] = [{"label": o.label, "box": [round(v, 1) for v in o.box]} for o in self.objects]
        data["timings_ms"] = {k: round(v, 1) for k, v in self.timings_ms.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Description":
        return cls(
            kind=ImageKind(data["kind"]),
            caption=data.get("caption"),
            detailed_caption=data.get("detailed_caption"),
            objects=[DetectedObject(o["label"], tuple(o["box"])) for o in data.get("objects", [])],
            text_lines=[TextLine.from_dict(t, i) for i, t in enumerate(data.get("text_lines", []))],
            model_id=data.get("model_id"),
            timings_ms=dict(data.get("timings_ms", {})),
            source=data.get("source"),
            width=int(data.get("width", 0)),
            height=int(data.get("height", 0)),
            blank_reason=data.get("blank_reason"),
            caption_error=data.get("caption_error"),
            ocr_error=data.get("ocr_error"),
            page=int(data.get("page", 0) or 0),
            pages=int(data.get("pages", 0) or 0),
        )
