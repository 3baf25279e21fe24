"""One voice at a time: every text the app says goes either to the running screen reader or to the app's
own voice, never to both.

Speech output (Settings, "Speak with"):
- "auto" (default): the screen reader when one runs (gui.screen_reader_presence, asked again every couple
  of seconds, so starting or quitting Orca/NVDA is followed), else the own voice;
- "screen_reader": always the screen reader's way (below), even when none is recognised;
- "own": always the own voice; the screen reader then gets no announcements from us either (it would talk
  over our voice).

How a text reaches the screen reader (`AccessibleChannel`), in the screen reader's own voice, rate and
queue, never by cancelling other programs' speech:
- Linux: a notification window (gui.notification_popup): what Orca 43 and later speak in full;
- Windows: NVDA's controller client when NVDA runs, else an accessibility announcement, which Qt turns into
  a UI Automation notification (spoken by NVDA, JAWS and Narrator);
- macOS: an accessibility announcement (VoiceOver speaks it).

Threading contract: GUI thread only.
"""
from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from describe_aloud.engine.speech.protocol import SpeechOutput
from describe_aloud.gui import nvda_client
from describe_aloud.gui.screen_reader_presence import ScreenReaderPresence

if TYPE_CHECKING:
    from describe_aloud.engine.speech.speaker import Voice

log = logging.getLogger(__name__)

OUTPUTS = ("auto", "screen_reader", "own")


def emit_announcement(source: QObject, text: str, assertive: bool) -> bool:
    """Qt >= 6.8's accessibility announcement; False on an older Qt."""
    try:
        from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
    except ImportError:  # pragma: no cover - depends on the installed Qt
        return False
    event = QAccessibleAnnouncementEvent(source, text)
    politeness = QAccessible.AnnouncementPoliteness
    event.setPoliteness(politeness.Assertive if assertive else politeness.Polite)
    QAccessible.updateAccessibility(event)
    return True


class AccessibleChannel:
    """Hands a text to the screen reader the way this platform's screen readers speak it (module docstring).
    `source()` is the object announcements come from (a widget of the main window)."""

    def __init__(self, source: Callable[[], QObject], platform: str = sys.platform) -> None:
        self._source = source
        self._platform = platform
        self._notifications = None
        if platform.startswith("linux"):
            from describe_aloud.gui.notification_popup import NotificationPresenter

            self._notifications = NotificationPresenter()

    def say(self, text: str, interrupt: bool = False) -> None:
        if not text:
            return
        if self._notifications is not None:
            self._notifications.show(text)
        elif self._platform == "win32" and nvda_client.nvda_running() and nvda_client.speak(text, interrupt):
            pass
        else:
            emit_announcement(self._source(), text, interrupt)

    def stop(self) -> None:
        if self._notifications is not None:
            self._notifications.clear()
        elif self._platform == "win32":
            nvda_client.cancel()


class SpeechRouter:
    """A SpeechOutput that sends each text to the screen reader or to `own` (the engine's Speaker, which
    is always kept on its own voice: its speech-dispatcher path would bypass Orca)."""

    def __init__(self, own: SpeechOutput, output: str, channel: AccessibleChannel,
                 presence: ScreenReaderPresence | None = None) -> None:
        self.own = own
        self.channel = channel
        self.presence = presence or ScreenReaderPresence()
        self.output = output if output in OUTPUTS else "auto"
        self._last = ""

    def to_screen_reader(self) -> bool:
        """Whether texts go to the screen reader now."""
        if self.output == "auto":
            return self.presence.running() is not None
        return self.output == "screen_reader"

    # SpeechOutput ------------------------------------------------------------------------------------
    def say(self, text: str, interrupt: bool = True) -> None:
        if self.to_screen_reader():
            self._last = text
            if self.is_speaking():
                self.own.stop()  # the own voice was speaking (auto: the screen reader just started)
            self.channel.say(text, interrupt)
        else:
            self.own.say(text, interrupt)

    def announce(self, text: str, assertive: bool = False) -> None:
        """A status or an error shown in a window: to the screen reader only (the own voice says what it
        has to say through `say`)."""
        if self.to_screen_reader():
            self.channel.say(text, assertive)

    def stop(self) -> None:
        self.own.stop()
        self.channel.stop()

    def repeat(self) -> None:
        if self.to_screen_reader() and self._last:
            self.channel.say(self._last, True)
        else:
            self.own.repeat()

    def is_speaking(self) -> bool:
        return self.own.is_speaking()

    def wait_until_idle(self, timeout: float | None = None) -> bool:
        return self.own.wait_until_idle(timeout)

    def voices(self) -> list[Voice]:
        return self.own.voices()

    def set_voice(self, voice_id: str | None) -> None:
        self.own.set_voice(voice_id)

    def set_rate(self, words_per_minute: int) -> None:
        self.own.set_rate(words_per_minute)

    def set_volume(self, volume: float) -> None:
        self.own.set_volume(volume)

    def set_output(self, output: str) -> None:
        if output not in OUTPUTS:
            raise ValueError(f"unknown speech output {output!r}")
        self.output = output

    def save_wav(self, text: str, path: str | Path) -> Path:
        return self.own.save_wav(text, path)

    def close(self, timeout: float = 3.0) -> None:
        self.channel.stop()
        self.own.close(timeout)
