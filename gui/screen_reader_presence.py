"""Is a screen reader running now? Asked before each text is spoken when speech output is "automatic".

- Linux: the screen reader is a client of the accessibility (AT-SPI) bus. The bus's clients are listed
  (org.freedesktop.DBus.ListNames on it), each one's process id asked for, and a client whose program is a
  known screen reader (Orca...) counts. A few D-Bus round trips on local sockets (well under a millisecond
  each), no process started; the answer is kept for `CACHE_S` so a burst of texts asks once.
- Windows: NVDA through its controller client (gui.nvda_client), otherwise the system's "screen reader
  present" flag (SystemParametersInfo SPI_GETSCREENREADER), which JAWS, Narrator and others set.
- macOS: VoiceOver (gui.macos_voiceover).

The SCREEN_READER variable of engine.environment set to none says no screen reader runs, `=orca` (any other name) that one does
(for tests and for users whose screen reader is not recognised).

Threading contract: GUI thread (QtDBus connections belong to it).
"""
from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from describe_aloud.engine.environment import SCREEN_READER

log = logging.getLogger(__name__)

CACHE_S = 2.0
# Program names (the file name of argv[0] or of the script it runs) of Linux screen readers.
LINUX_SCREEN_READERS = {"orca": "Orca", "odilia": "Odilia"}
_A11Y_CONNECTION = "describe-aloud-a11y"


def _program_names(pid: int) -> list[str]:
    """The process's name (Orca sets its own to "orca") and the base names of the first two words of its
    command line (a script runs as "python3 /usr/bin/orca")."""
    names = []
    try:
        names.append(Path(f"/proc/{pid}/comm").read_text(encoding="utf-8", errors="replace").strip())
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return names
    return names + [os.path.basename(part.decode("utf-8", "replace")) for part in raw.split(b"\0")[:2] if part]


def _linux_screen_reader() -> str | None:
    from PySide6.QtDBus import QDBusConnection, QDBusMessage

    def call(connection, service: str, path: str, interface: str, method: str, *args):
        message = QDBusMessage.createMethodCall(service, path, interface, method)
        if args:
            message.setArguments(list(args))
        reply = connection.call(message, timeout=500)
        if reply.type() != QDBusMessage.MessageType.ReplyMessage:
            raise OSError(reply.errorMessage() or "no reply")
        return reply.arguments()

    connection = QDBusConnection(_A11Y_CONNECTION)
    if not connection.isConnected():
        session = QDBusConnection.sessionBus()
        if not session.isConnected():
            return None
        address = call(session, "org.a11y.Bus", "/org/a11y/bus", "org.a11y.Bus", "GetAddress")[0]
        QDBusConnection.disconnectFromBus(_A11Y_CONNECTION)
        connection = QDBusConnection.connectToBus(address, _A11Y_CONNECTION)
        if not connection.isConnected():
            return None
    bus = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")
    own_pid = os.getpid()
    for name in call(connection, *bus, "ListNames")[0]:
        if not name.startswith(":"):
            continue
        try:
            pid = int(call(connection, *bus, "GetConnectionUnixProcessID", name)[0])
        except (OSError, ValueError, IndexError):
            continue
        if pid == own_pid:
            continue
        for program in _program_names(pid):
            if program in LINUX_SCREEN_READERS:
                return LINUX_SCREEN_READERS[program]
    return None


def _windows_screen_reader() -> str | None:
    if sys.platform == "win32":
        import ctypes

        from describe_aloud.gui.nvda_client import nvda_running

        if nvda_running():
            return "NVDA"
        spi_getscreenreader = 0x0046
        flag = ctypes.c_int(0)
        if ctypes.windll.user32.SystemParametersInfoW(spi_getscreenreader, 0, ctypes.byref(flag), 0) and flag.value:
            return "screen reader"
    return None


def _macos_screen_reader() -> str | None:
    if sys.platform == "darwin":
        from describe_aloud.gui.macos_voiceover import voiceover_running

        return "VoiceOver" if voiceover_running() else None
    return None


def detect_screen_reader() -> str | None:
    """The running screen reader's name, or None."""
    forced = SCREEN_READER.get() or ""
    if forced.lower() == "none":
        return None
    if forced:
        return forced
    try:
        if sys.platform == "win32":
            return _windows_screen_reader()
        if sys.platform == "darwin":
            return _macos_screen_reader()
        return _linux_screen_reader()
    except Exception:  # noqa: BLE001 - no D-Bus, no accessibility bus...: as if none ran
        log.debug("screen reader detection failed", exc_info=True)
        return None


class ScreenReaderPresence:
    """`running()`: the screen reader's name or None, asked at most every `cache_s` seconds."""

    def __init__(self, cache_s: float = CACHE_S) -> None:
        self._cache_s = cache_s
        self._checked = float("-inf")
        self._name: str | None = None

    def running(self) -> str | None:
        now = time.monotonic()
        if now - self._checked >= self._cache_s:
            self._name = detect_screen_reader()
            self._checked = now
        return self._name
