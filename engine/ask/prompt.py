"""The conversation as the model sees it: SmolVLM's chat format, with the text OCR read in the first turn.

    <|im_start|>User:<image>Text read in the image, exactly:
    Save changes?
    Cancel

    What does the red button say?<end_of_utterance>
    Assistant: ...<end_of_utterance>
    User: And the other one?<end_of_utterance>
    Assistant:

Everything up to the question (the image and the read text) is the same for every question about one
image: `Prompt.prefix` is that part, so the model's cache for it is computed once and reused (the image is
encoded once per image, not once per question). The chat template comes from the model's own processor
files; this module only chooses what goes in the messages.

Pure functions; safe from any thread.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

IMAGE_TOKEN = "<image>"
MAX_READ_CHARS = 1500  # read text beyond this is cut: the prompt stays short, so the answer starts soon
MAX_TURNS = 4  # earlier turns of a long conversation are left out of the prompt (they stay in the history)
MAX_QUESTION_CHARS = 500
# In English on purpose: this is an instruction to an English-trained model, never shown to the user.
READ_TEXT_HEADER = "Text read in the image, exactly:\n"


@dataclass(frozen=True)
class Turn:
    """One question and the answer that was given (as text: what the model said)."""

    question: str
    answer: str


@dataclass(frozen=True)
class Prompt:
    text: str  # the whole prompt, ending with "Assistant:"
    prefix: str  # the part that depends only on the image and its read text (ends after the read text)

    @property
    def suffix(self) -> str:
        return self.text[len(self.prefix):]


def read_block(lines: Sequence[str]) -> str:
    """The read text as it goes into the prompt ("" when nothing was read)."""
    text = "\n".join(line.strip() for line in lines if line and line.strip())
    if not text:
        return ""
    if len(text) > MAX_READ_CHARS:
        text = text[:MAX_READ_CHARS].rsplit("\n", 1)[0]
    return f"{READ_TEXT_HEADER}{text}\n\n"


def clean_question(question: str) -> str:
    return " ".join((question or "").split())[:MAX_QUESTION_CHARS]


def messages(question: str, lines: Sequence[str], history: Sequence[Turn]) -> list[dict[str, Any]]:
    """Chat messages in the processor's format: the image and the read text open the conversation."""
    turns = list(history)[-MAX_TURNS:]
    questions = [t.question for t in turns] + [question]
    out: list[dict[str, Any]] = []
    for index, asked in enumerate(questions):
        if index == 0:
            content = [{"type": "image"}, {"type": "text", "text": read_block(lines) + asked}]
        else:
            content = [{"type": "text", "text": asked}]
        out.append({"role": "user", "content": content})
        if index < len(turns):
            out.append({"role": "assistant", "content": [{"type": "text", "text": turns[index].answer}]})
    return out


def build(processor: Any, question: str, lines: Sequence[str], history: Sequence[Turn]) -> Prompt:
    """The prompt for `question`, and its image-only prefix."""
    text = processor.apply_chat_template(messages(clean_question(question), lines, history),
                                         add_generation_prompt=True)
    at = text.index(IMAGE_TOKEN) + len(IMAGE_TOKEN)
    prefix = text[:at] + read_block(lines)
    if not text.startswith(prefix):  # a template that puts something between: no shared prefix but the image
        prefix = text[:at]
    return Prompt(text=text, prefix=prefix)
