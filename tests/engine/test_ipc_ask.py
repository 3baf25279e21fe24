"""`ask --last`: a question travels to the running app on the single-instance socket's one line."""
from __future__ import annotations

import sys

import pytest

from describe_aloud.engine import ipc
from tests.engine.test_ipc import FakeApp

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="the Unix socket half of the client")


def test_a_question_goes_on_one_line_after_the_command_and_comes_back_out():
    app = FakeApp(b"ok\n")
    try:
        assert ipc.send_command("ask", timeout_ms=3000, argument="What does\nthe red   button say?") is True
    finally:
        app.close()
    assert app.received == [b"ask What does the red button say?\n"]
    assert ipc.parse_command_line("ask What does the red button say?") == ("ask", "What does the red button say?")


def test_arguments_only_where_a_command_takes_one():
    assert ipc.parse_command_line("repeat") == ("repeat", None)
    assert ipc.parse_command_line("repeat now") is None
    assert ipc.parse_command_line("ask") is None  # a question is needed
    assert ipc.parse_command_line("format_disk everything") is None
    with pytest.raises(ValueError):
        ipc.command_line("repeat", "now")


def test_a_long_question_is_cut_to_fit_the_line_at_a_character_boundary():
    line = ipc.command_line("ask", "é" * 2000)
    assert len((line + "\n").encode("utf-8")) <= ipc.MAX_LINE
    assert line.endswith("é")
