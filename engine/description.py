"""What the engine says about one image, and how that is turned into speech.

Trust rules (never state what is not there):
- a blank / near-uniform image is said to be blank, with no caption;
- text comes from OCR and is labelled as read text;
- when an image is mostly text (a screen, a document) the text leads and the caption is hedged;
- the spoken rendering says which parts are read (exact) and which are guessed by a model.
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

    def to_speech(self, *, include_text: bool = True) -> str:
        """The words to speak, in the order the trust rules set."""
        return render_speech(self, include_text=include_text)

    def remaining_speech(self, already_said: "Description") -> str:
        """The words of this description not yet spoken when `already_said` (an early, partial
        description of the same image, e.g. its text before the caption) was spoken."""
        said = {text for _, text in speech_parts(already_said)}
        return " ".join(text for _, text in speech_parts(self) if text not in said)

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
        data["speech"] = self.to_speech()
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


_KIND_WORDS = {
    ImageKind.PHOTO: "Picture",
    ImageKind.SCREEN: "Screen",
    ImageKind.DOCUMENT: "Document",
}


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def spoken_text(lines: list[TextLine]) -> str:
    """Read lines as one text to speak. A line that starts with a capital (a menu item, a heading, a new
    sentence) after one with no closing punctuation gets a full stop, so the voice pauses between UI
    labels; a line continuing a sentence (lower case) is joined with a space."""
    out = ""
    for line in lines:
        text = line.text.strip()
        if not text:
            continue
        if out and out[-1] not in ".!?:;," and not text[0].islower():
            out += "."
        out = f"{out} {text}" if out else text
    return out


def speech_parts(d: Description, *, include_text: bool = True) -> list[tuple[str, str]]:
    """The spoken rendering as labelled parts, in the order the trust rules set.

    Labels: "blank", "kind", "text" (read by OCR: exact), "guess" (the model's caption: a guess),
    "objects" (the model's guess too), "error" (why there is no caption), "nothing"."""
    if d.kind is ImageKind.BLANK:
        return [("blank", f"The image is blank: {d.blank_reason or 'nothing to describe'}.")]

    parts: list[tuple[str, str]] = []
    read_text = spoken_text(d.text_lines) if include_text else ""
    # Mostly text: the scene caption stays short (a detailed one would guess even more about a screen).
    guess = (d.caption or d.detailed_caption) if d.mostly_text else (d.detailed_caption or d.caption)

    if d.mostly_text:
        # A screen capture is a SCREEN even with no text on it (a photo viewer, a video): no "with text".
        with_text = " with text" if d.text_lines else ""
        parts.append(("kind", f"{_KIND_WORDS[d.kind]}{with_text}."))
        if read_text:
            parts.append(("text", f"Text: {_sentence(read_text)}"))
        if guess:
            parts.append(("guess", f"Could be: {_sentence(guess)}"))
    else:
        parts.append(("kind", f"{_KIND_WORDS[d.kind]}."))
        if guess:
            parts.append(("guess", f"The model guesses: {_sentence(guess)}"))
        if d.objects:
            labels = ", ".join(sorted({o.label for o in d.objects}))
            parts.append(("objects", f"Objects it may contain: {labels}."))
        if read_text:
            parts.append(("text", f"Text: {_sentence(read_text)}"))
    if d.caption_error:
        parts.append(("error", _sentence(d.caption_error)))
    if d.ocr_error:
        parts.append(("error", _sentence(d.ocr_error)))
    if not guess and not read_text and not d.caption_error and not d.ocr_error:
        parts.append(("nothing", "Nothing could be recognised."))
    return parts


def render_speech(d: Description, *, include_text: bool = True) -> str:
    return " ".join(text for _, text in speech_parts(d, include_text=include_text))
