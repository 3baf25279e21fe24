"""The one renderer: what the app, the command line and the history say and show about an image.

A `Rendering` is a list of labelled `Part`s. Each part has the words to speak and the lines to show, made
together here, so that nobody else writes these sentences and nobody parses them back out of speech.

Trust rules (never state what is not there):
- a blank / near-uniform image is said to be blank, with no caption;
- text comes from OCR and is labelled as read text; it is never translated here;
- when an image is mostly text (a screen, a document) the text leads and the caption is hedged;
- text on a photo is said as scene text ("Sign reads: YAMAHA"), after what the model guessed;
- each read line keeps its language (`Part.runs`), so it can be spoken by a voice for that language;
- what a model guessed is always said as a guess ("The model guesses", "Could be", "may contain").
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from describe_aloud.engine.description import CELL_SEPARATOR, Description, ImageKind, TextLine
from describe_aloud.engine.i18n import _, pgettext
from describe_aloud.engine.reading.script import Run, language_runs


@dataclass(frozen=True)
class Part:
    """One labelled piece of what is said.

    role: "blank", "kind", "text" (read by OCR: exact), "guess" (a model's caption), "objects",
    "detail" (more detail from the detail model), "error" (why something is missing), "nothing",
    "pending" (the caption comes later: `awaiting_caption`)."""

    role: str
    speech: str
    lines: tuple[str, ...]
    # The speech cut where its language changes (read text in Chinese and English...); empty when all of
    # it is in the app's language.
    runs: tuple[Run, ...] = ()
    # A "text" part's read lines (TextLine.text), so that a text that grew says only its new lines; a
    # "detail" part's words, so that a detail that grew says only its new sentences (`after`).
    read: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rendering:
    parts: tuple[Part, ...] = ()

    @property
    def speech(self) -> str:
        return " ".join(part.speech for part in self.parts if part.speech)

    @property
    def display(self) -> str:
        """For reading line by line with the arrow keys: one part per line, read text one line per line."""
        return "\n".join(line for part in self.parts for line in part.lines)

    @property
    def runs(self) -> list[Run]:
        """The speech as runs of one language each (language None: the app's own language), in order."""
        out: list[Run] = []
        for part in self.parts:
            for run in part.runs or (Run(part.speech, None),):
                if out and out[-1].language == run.language:
                    out[-1] = Run(f"{out[-1].text} {run.text}", run.language)
                elif run.text:
                    out.append(run)
        return out

    def roles(self) -> list[str]:
        return [part.role for part in self.parts]

    def after(self, earlier: "Rendering") -> "Rendering":
        """The parts not already in `earlier` (e.g. the caption after the text was spoken early). A read text
        that grew (a dense screen's first lines were said, now all of them are read: every line said is
        still there) gives only the lines not said yet; so does a detail that grew (said sentence by sentence
        as the model wrote it) give only its new sentences; a text that changed is said whole again."""
        said = {part.speech for part in earlier.parts}
        said_lines = Counter(line for part in earlier.parts if part.role == "text" for line in part.read)
        said_detail = max((part.read[0] for part in earlier.parts if part.role == "detail" and part.read),
                          key=len, default="")
        parts: list[Part] = []
        for part in self.parts:
            if part.speech in said:
                continue
            if part.role == "detail" and said_detail and part.read:
                if part.read[0].startswith(said_detail + " "):
                    parts.append(_detail_continued(part.read[0], len(said_detail)))
                    continue
                if part.read[0] == said_detail:
                    continue
            if part.role == "text" and said_lines and not said_lines - Counter(part.read):
                new = list(part.read)
                for line in said_lines.elements():
                    new.remove(line)
                if new:
                    parts.append(_text_continued(new))
                continue
            parts.append(part)
        return Rendering(tuple(parts))

    def __add__(self, other: "Rendering") -> "Rendering":
        return Rendering(self.parts + other.parts)

    def __bool__(self) -> bool:
        return bool(self.parts)


def _one(role: str, speech: str) -> Part:
    return Part(role, speech, (speech,))


def sentence(text: str) -> str:
    """A model's or OCR's words as a sentence: capital first letter, closing punctuation."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?。！？" else text + full_stop(text)


def full_stop(text: str) -> str:
    """The full stop that ends `text`: "。" after Chinese or Japanese characters (a translated caption),
    "." otherwise."""
    last = text.rstrip()[-1:] or "."
    return "。" if "\u3040" <= last <= "\u9fff" or "\uf900" <= last <= "\ufaff" else "."


def _text_continued(texts: list[str]) -> Part:
    """More lines of a read text already begun (its label said): said and shown without the label."""
    read = sentence(spoken_text([TextLine(text, (0, 0, 0, 0), 1.0) for text in texts]))
    return Part("text", read, tuple(f"  {text}" for text in texts), tuple(language_runs(read)), tuple(texts))


def _detail_continued(detail: str, said: int) -> Part:
    """The sentences of a detail after its first `said` characters, which were said with the detail's label."""
    rest = detail[said:].strip()
    return Part("detail", rest, (rest,), read=(detail,))


def spoken_text(lines: list[TextLine]) -> str:
    """Read lines as one text to speak. A line that starts with a capital (a menu item, a heading, a new
    sentence) after one with no closing punctuation gets a full stop, so the voice pauses between UI
    labels; a line continuing a sentence (lower case) is joined with a space. The cells of a table row
    are separated by a comma, so they are heard apart."""
    out = ""
    for line in lines:
        text = ", ".join(cell.strip() for cell in line.text.split(CELL_SEPARATOR) if cell.strip())
        if not text:
            continue
        if out and out[-1] not in ".!?:;,。！？：；，" and not text[0].islower():
            out += "."
        out = f"{out} {text}" if out else text
    return out


def _text_part(lines: list[TextLine], scene: bool = False) -> Part:
    read = sentence(spoken_text(lines))
    # On a photo the text is part of the scene (a sign, a label), not a page that was read.
    label = _("Sign reads: {text}") if scene else _("Text: {text}")
    speech = label.format(text=read)
    lead = label.split("{text}")[0].strip()
    # The label in the app's language, then the read text in the languages of its scripts.
    runs = ((Run(lead, None),) if lead else ()) + tuple(language_runs(read))
    read_lines = tuple(line.text for line in lines)
    if len(lines) > 1:
        return Part("text", speech, (lead, *(f"  {line.text}" for line in lines)), runs, read_lines)
    return Part("text", speech, (speech,), runs, read_lines)


def kind_name(kind: ImageKind | str) -> str:
    """The kind of an image as one word in the app's language ("photo", "screen"): the command line's
    `describe` and `history` print it. An unknown value (an old history row) is given as it is."""
    names = {
        # Translators: the kind of an image, printed after its file name ("photo.jpg: photo").
        ImageKind.PHOTO: pgettext("image kind", "photo"),
        ImageKind.SCREEN: pgettext("image kind", "screen"),
        ImageKind.DOCUMENT: pgettext("image kind", "document"),
        ImageKind.BLANK: pgettext("image kind", "blank"),
    }
    try:
        return names[ImageKind(kind)]
    except ValueError:
        return str(kind)


def _kind_part(d: Description) -> Part:
    if d.kind is ImageKind.SCREEN:
        # A screen capture is a screen even with no text on it (a photo viewer, a video): no "with text".
        return _one("kind", _("Screen with text.") if d.text_lines else _("Screen."))
    if d.kind is ImageKind.DOCUMENT:
        return _one("kind", _("Document with text.") if d.text_lines else _("Document."))
    return _one("kind", _("Picture."))


def object_labels(d: Description) -> str:
    # Translators: between the names in a list of objects ("dog, person"); Chinese uses "、".
    return pgettext("list separator", ", ").join(sorted({o.label for o in d.objects}))


def objects(d: Description) -> Rendering:
    """The objects a detail model found, as one hedged sentence (nothing when there are none)."""
    if not d.objects:
        return Rendering()
    return Rendering((_one("objects", _("Objects it may contain: {labels}.").format(labels=object_labels(d))),))


def describe(d: Description, *, include_text: bool = True) -> Rendering:
    """A description in the order the trust rules set."""
    if d.kind is ImageKind.BLANK:
        reason = d.blank_reason or _("nothing to describe")
        return Rendering((_one("blank", _("The image is blank: {reason}.").format(reason=reason)),
                          *_pages_part(d)))

    parts: list[Part] = []
    has_text = include_text and any(line.text.strip() for line in d.text_lines)
    # Mostly text: the scene caption stays short (a detailed one would guess even more about a screen).
    guess = (d.caption or d.detailed_caption) if d.mostly_text else (d.detailed_caption or d.caption)

    parts.append(_kind_part(d))
    parts.extend(_pages_part(d))
    if d.mostly_text:
        if has_text:
            parts.append(_text_part(d.text_lines))
        if guess:
            parts.append(_one("guess", _("Could be: {caption}").format(caption=sentence(guess))))
    else:
        if guess:
            parts.append(_one("guess", _("The model guesses: {caption}").format(caption=sentence(guess))))
        parts.extend(objects(d).parts)
        if has_text:
            parts.append(_text_part(d.text_lines, scene=True))
    for problem in (d.caption_error, d.ocr_error):
        if problem:
            parts.append(_one("error", sentence(problem)))
    if not guess and not has_text and not d.caption_error and not d.ocr_error:
        parts.append(_one("nothing", _("Nothing could be recognised.")))
    return Rendering(tuple(parts))


def _pages_part(d: Description) -> tuple[Part, ...]:
    """That only one page of a file of several was read (a scanned letter's later pages are not silently
    left out)."""
    if d.pages <= 1:
        return ()
    return (_one("pages", _("Page {page} of {pages}: only this page was described.").format(
        page=d.page, pages=d.pages)),)


def caption_follows() -> Rendering:
    """That the picture's description comes later: said of an image read before the captioner had loaded."""
    return Rendering((_one("pending", _("The picture's description follows once its model has loaded.")),))


def awaiting_caption(d: Description, *, include_text: bool = True) -> Rendering:
    """An image read before the captioner had loaded (the app's first seconds): its kind and text, then that
    the picture's description follows. The whole description, when it comes, adds only its caption
    (`describe(final).after(this)`): the kind, the text and a reading error are the same parts."""
    if d.kind is ImageKind.BLANK:
        return describe(d, include_text=include_text)
    has_text = include_text and any(line.text.strip() for line in d.text_lines)
    parts = [_kind_part(d), *_pages_part(d)]
    if has_text:
        parts.append(_text_part(d.text_lines, scene=not d.mostly_text))
    if d.ocr_error:
        parts.append(_one("error", sentence(d.ocr_error)))
    elif include_text and not has_text:
        parts.append(_one("nothing", _("No text was found.")))
    return Rendering(tuple(parts)) + caption_follows()


def more_detail(d: Description) -> Rendering:
    """What "more detail" adds: the detail model's description (hedged), why it stopped when it failed
    (after the sentences already said, or instead of them), then the objects it found."""
    added = (d.detailed_caption or d.caption or "").strip()
    parts: list[Part] = []
    if added:
        speech = _("More detail, guessed by the model: {caption}").format(caption=added)
        parts.append(Part("detail", speech, (speech,), read=(added,)))
    if d.caption_error:
        parts.append(_one("error", d.caption_error))
    elif not added:
        parts.append(_one("detail", _("The detail model has nothing to add.")))
    return Rendering(tuple(parts)) + objects(d)


MAX_ALT_TEXT_OCR = 300  # characters of read text quoted in the alt text


def _alt_sentence(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?\"'。！？”" else text + full_stop(text)


def alt_text(d: Description) -> str:
    """Alt text for a web page or a photo library: what the model saw, and the text read in the image.

    Shorter than the spoken rendering: no "the model guesses" (alt text is read in context), but a
    mostly-text image leads with its text, as the trust rules want."""
    if d.kind is ImageKind.BLANK:
        if d.blank_reason:
            return _alt_sentence(_("Blank image: {reason}").format(reason=d.blank_reason))
        return _("Blank image.")
    guess = (d.detailed_caption or d.caption or "").strip()
    text = " ".join(d.text.split())
    if len(text) > MAX_ALT_TEXT_OCR:
        text = text[:MAX_ALT_TEXT_OCR].rsplit(" ", 1)[0] + "…"
    parts: list[str] = []
    if d.mostly_text:
        if d.kind is ImageKind.SCREEN:
            parts.append(_('Screenshot. Text: "{text}".').format(text=text) if text else _("Screenshot with text."))
        else:
            parts.append(_('Document. Text: "{text}".').format(text=text) if text else _("Document with text."))
        if guess:
            parts.append(_alt_sentence(guess))
    else:
        if guess:
            parts.append(_alt_sentence(guess))
        if text:
            parts.append(_('Sign reads: "{text}".').format(text=text))
    return " ".join(parts) or _("Image.")


def record(d: Description) -> dict[str, Any]:
    """The description as a JSON-ready record, with the words spoken for it (CLI, batch, history)."""
    data = d.to_dict()
    data["speech"] = describe(d).speech
    return data


# ---------------------------------------------------------------------------------------- answers
# What "ask" says (engine.ask). Typed loosely (Any): render stays free of the model code's imports.
READ_ROLE, GUESS_ROLE, UNSURE_ROLE, STOPPED_ROLE = "read", "guess", "unsure", "stopped"


def _lower_first(text: str) -> str:
    """"The car is red." -> "the car is red." so it follows "It looks like"; "TV", "I" stay as they are."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper() and not text.startswith("I "):
        return text[0].lower() + text[1:]
    return text


def answer_sentence(s: Any, *, previous: str | None = None) -> Part:
    """One sentence of an answer, as it is streamed: read text said as read, the model's eyes hedged. The
    first sentence of each kind carries the label, the rest follow it plainly: `previous` is the grounding
    of the sentence before (None for the first)."""
    first = s.grounding != previous
    text = sentence(s.text)
    if s.grounding == "read":
        speech = _("In the read text: {answer}").format(answer=text) if first else text
        return Part(READ_ROLE, speech, (speech,))
    speech = _("It looks like {answer}").format(answer=_lower_first(text)) if first else text
    return Part(GUESS_ROLE, speech, (speech,))


def answer(a: Any) -> Rendering:
    """A whole answer: its sentences, or "I can't tell from this image" when the model was not sure. An
    answer stopped (by the user, or a newer request) says so: what was cut off is not the model's doubt."""
    if getattr(a, "stopped", False):
        if not a.sentences:
            return Rendering((_one(STOPPED_ROLE, _("The question was stopped before it was answered.")),))
        return Rendering(_answer_sentences(a.sentences)
                         + (_one(STOPPED_ROLE, _("The answer was stopped before its end.")),))
    if a.unsure or not a.sentences:
        return Rendering((_one(UNSURE_ROLE, _("I can't tell from this image.")),))
    return Rendering(_answer_sentences(a.sentences))


def _answer_sentences(sentences: Any) -> tuple[Part, ...]:
    parts = []
    previous = None
    for s in sentences:
        parts.append(answer_sentence(s, previous=previous))
        previous = s.grounding
    return tuple(parts)


def question(text: str) -> Part:
    """The user's question, as the conversation shows it."""
    return _one("question", _("You asked: {question}").format(question=" ".join(text.split())))


def conversation(turns: list[tuple[str, Any]]) -> str:
    """A conversation (question, Answer) pairs as text to copy or show: one question and its answer per
    paragraph."""
    blocks = []
    for asked, given in turns:
        blocks.append(question(asked).speech + "\n" + answer(given).display)
    return "\n\n".join(blocks)
