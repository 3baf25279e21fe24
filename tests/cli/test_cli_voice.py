"""`describe --speak` says a screen's text before its caption. A dense screen's text comes twice (its first
lines, then all of them): each line must be said once, then the caption."""
import argparse

from describe_aloud.cli.describe_cmd import _Voice
from describe_aloud.engine.description import Description, ImageKind, TextLine


class _Heard:
    def __init__(self) -> None:
        self.said: list[str] = []

    def say(self, text: str, interrupt: bool = True) -> None:
        self.said.append(text)


def _screen(count: int, caption: str | None = None) -> Description:
    lines = [TextLine(f"Line number {i} of the list.", (10, 10 + 30 * i, 400, 30 + 30 * i), 0.9) for i in range(count)]
    return Description(kind=ImageKind.SCREEN, caption=caption, text_lines=lines, width=1280, height=720)


def test_each_line_of_a_dense_screen_is_said_once_then_the_caption():
    voice = _Voice.__new__(_Voice)  # the voice itself is replaced by what it was told to say
    voice.args, voice.several, voice.problems, voice.texts, voice._partial = (
        argparse.Namespace(speak=True), False, [], [], {})
    voice.speaker = heard = _Heard()
    on_text = voice.text_ready("screen.png")
    on_text(_screen(3))  # the first lines, while the rest is read
    on_text(_screen(8))  # all of the text
    voice.described("screen.png", _screen(8, caption="a list of files"))
    spoken = " ".join(heard.said)
    for i in range(8):
        assert spoken.count(f"Line number {i} of the list.") == 1, heard.said
    assert "list of files" in heard.said[-1] and "Line number" not in heard.said[-1]
