"""What the engine found in one image: its kind, the text read from it, a model's caption and objects.

Plain data. What is said and shown about it is made by engine.render, the one renderer.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels of the original image


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
        data["text_lines"] = [
            {"text": t.text, "box": [round(v, 1) for v in t.box], "confidence": round(t.confidence, 3)}
            for t in self.text_lines
        ]
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
            text_lines=[
                TextLine(t["text"], tuple(t["box"]), float(t.get("confidence", 1.0)))
                for t in data.get("text_lines", [])
            ],
            model_id=data.get("model_id"),
            timings_ms=dict(data.get("timings_ms", {})),
            source=data.get("source"),
            width=int(data.get("width", 0)),
            height=int(data.get("height", 0)),
            blank_reason=data.get("blank_reason"),
            caption_error=data.get("caption_error"),
            ocr_error=data.get("ocr_error"),
        )
