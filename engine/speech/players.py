"""Play WAV files in a way that can be cut at once.

A `Player` starts a `Playback`; `Playback.stop()` silences it immediately (it kills the external player
process, or wakes the timed wait of the null player) and may be called from any thread.
`Playback.wait()` blocks until the sound ended or was stopped and returns True when it played to the end.

Players: an external command (pw-play / paplay / aplay / ffplay on Linux, afplay on macOS), winsound on
Windows, and the null player, which plays nothing but takes the WAV's real duration, so timing behaves as
with sound (used when no audio device or player works, and in tests).

Environment:
  DESCRIBE_ALOUD_AUDIO_PLAYER=null|pw-play|paplay|aplay|ffplay|afplay|winsound  force one player
  DESCRIBE_ALOUD_AUDIO_SINK=DIR   use the null player and copy every played WAV into DIR (0001.wav,
                                  0002.wav...) with one line per playback in DIR/playback.jsonl:
                                  {"index", "file", "text", "duration", "played", "completed"}
"""
from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from describe_aloud.engine import environment
from describe_aloud.engine.i18n import _

log = logging.getLogger(__name__)

PLAYER_ENV = environment.AUDIO_PLAYER.name
SINK_ENV = environment.AUDIO_SINK.name

# argv prefixes, in order of preference, for each platform's command-line players.
COMMAND_PLAYERS: dict[str, list[str]] = {
    "pw-play": ["pw-play"],
    "paplay": ["paplay"],
    "aplay": ["aplay", "-q"],
    "ffplay": ["ffplay", "-nodisp", "-autoexit", "-loglevel", "quiet"],
    "afplay": ["afplay"],
}
LINUX_ORDER = ("pw-play", "paplay", "aplay", "ffplay")


def wav_duration(path: Path) -> float:
    """Length of a WAV file in seconds (0.0 if it cannot be read)."""
    try:
        with wave.open(str(path), "rb") as wav:
            rate = wav.getframerate()
            return wav.getnframes() / rate if rate else 0.0
    except (OSError, wave.Error, EOFError):
        return 0.0


class Playback(Protocol):
    def stop(self) -> None: ...
    def wait(self, timeout: float | None = None) -> bool | None: ...


class Player(Protocol):
    name: str

    def play(self, path: Path, text: str = "") -> Playback: ...


class PlayerFailed(Exception):
    """The player could not play the file (no device, player missing or broken)."""


# --- the null player ------------------------------------------------------------------------------


class _TimedPlayback:
    """Plays nothing for the WAV's duration. stop() ends it at once."""

    def __init__(self, duration: float, on_end: Callable[[float, bool], None] | None = None) -> None:
        self.duration = duration
        self._stopped = threading.Event()
        self._started = time.monotonic()
        self._on_end = on_end
        self._result: bool | None = None
        self._lock = threading.Lock()

    def stop(self) -> None:
        self._stopped.set()

    def wait(self, timeout: float | None = None) -> bool | None:
        remaining = self.duration - (time.monotonic() - self._started)
        if timeout is not None and timeout < remaining:
            if not self._stopped.wait(timeout):
                return None  # still playing
        else:
            self._stopped.wait(max(0.0, remaining))
        return self._finish()

    def _finish(self) -> bool:
        with self._lock:
            if self._result is None:
                played = min(self.duration, time.monotonic() - self._started)
                self._result = not self._stopped.is_set()
                if self._on_end:
                    self._on_end(played, self._result)
            return self._result


class NullPlayer:
    """No sound: waits for the real duration of each WAV, so timing is as with a sound card."""

    name = "null"

    def play(self, path: Path, text: str = "") -> Playback:
        return _TimedPlayback(wav_duration(path))


class SinkPlayer:
    """The null player that also records each played WAV into a folder (test hook, see module doc)."""

    name = "sink"
    _counter_lock = threading.Lock()

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def play(self, path: Path, text: str = "") -> Playback:
        with self._counter_lock:
            # Copy under a hidden name first, then link it in under the first free number: a reader never
            # sees a half-copied WAV, and the app and a CLI process sharing the sink never take one number.
            fd, partial = tempfile.mkstemp(prefix=".sink-", suffix=".part", dir=self.folder)
            try:
                with os.fdopen(fd, "wb") as out, open(path, "rb") as source:
                    shutil.copyfileobj(source, out)
                index = len(list(self.folder.glob("[0-9][0-9][0-9][0-9].wav"))) + 1
                while True:
                    target = self.folder / f"{index:04d}.wav"
                    try:
                        os.link(partial, target)
                        break
                    except FileExistsError:
                        index += 1
            finally:
                os.unlink(partial)
        duration = wav_duration(path)

        def record(played: float, completed: bool) -> None:
            entry = {
                "index": index, "file": target.name, "text": text, "duration": round(duration, 3),
                "played": round(played, 3), "completed": completed,
            }
            with self._counter_lock, open(self.folder / "playback.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry) + "\n")

        return _TimedPlayback(duration, on_end=record)


# --- external command players ---------------------------------------------------------------------


class _ProcessPlayback:
    def __init__(self, process: subprocess.Popen[bytes], duration: float) -> None:
        self._process = process
        self._duration = duration
        self._started = time.monotonic()
        self._stopped = False

    def stop(self) -> None:
        self._stopped = True
        try:
            self._process.kill()  # the only way to cut aplay & co. mid-sound
        except OSError:
            pass

    def wait(self, timeout: float | None = None) -> bool | None:
        try:
            code = self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        if self._stopped:
            return False
        if code != 0:
            raise PlayerFailed(f"the player exited with code {code}")
        return True


class CommandPlayer:
    """Plays through an external program that is killed to stop."""

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self._argv = argv

    def play(self, path: Path, text: str = "") -> Playback:
        try:
            process = subprocess.Popen(
                [*self._argv, str(path)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        except OSError as exc:
            raise PlayerFailed(str(exc)) from exc
        return _ProcessPlayback(process, wav_duration(path))


class WinsoundPlayer:
    """Windows: winsound plays asynchronously; PlaySound(None, SND_PURGE) stops it."""

    name = "winsound"

    def play(self, path: Path, text: str = "") -> Playback:
        import winsound  # type: ignore[import-not-found]

        try:
            winsound.PlaySound(str(path), winsound.SND_FILENAME | winsound.SND_ASYNC | winsound.SND_NODEFAULT)
        except RuntimeError as exc:
            raise PlayerFailed(str(exc)) from exc

        def end(_played: float, completed: bool) -> None:
            if not completed:
                winsound.PlaySound(None, winsound.SND_PURGE)

        return _TimedPlayback(wav_duration(path), on_end=end)


# --- choosing -------------------------------------------------------------------------------------


@dataclass
class PlayerChoice:
    players: list[Player]  # in order of preference; the null player is always last
    silent_on_purpose: bool  # the null player / sink was asked for: no "no sound" message


def choose_players() -> PlayerChoice:
    """The players to try on this machine, best first."""
    sink = environment.AUDIO_SINK.get()
    if sink:
        return PlayerChoice([SinkPlayer(Path(sink))], silent_on_purpose=True)
    forced = (environment.AUDIO_PLAYER.get() or "").lower()
    if forced == "null":
        return PlayerChoice([NullPlayer()], silent_on_purpose=True)
    candidates: list[Player] = []
    if forced == "winsound":
        candidates.append(WinsoundPlayer())
    elif forced in COMMAND_PLAYERS:
        candidates.append(CommandPlayer(forced, COMMAND_PLAYERS[forced]))
    else:
        system = platform.system()
        if system == "Windows":
            candidates.append(WinsoundPlayer())
        elif system == "Darwin":
            names: tuple[str, ...] = ("afplay",)
        else:
            names = LINUX_ORDER
        if system != "Windows":
            candidates.extend(CommandPlayer(n, COMMAND_PLAYERS[n]) for n in names if shutil.which(n))
    return PlayerChoice([*candidates, NullPlayer()], silent_on_purpose=False)


class FallbackPlayer:
    """Uses the first player that works; when one fails, moves to the next for good (the failed sound is
    replayed on the next one). `on_no_sound` is called once when only the null player is left."""

    def __init__(self, choice: PlayerChoice, on_no_sound: Callable[[str], None] | None = None) -> None:
        self._players = list(choice.players)
        self._silent_on_purpose = choice.silent_on_purpose
        self._on_no_sound = on_no_sound
        self._lock = threading.Lock()
        self._announced = False
        self._tried: list[str] = []

    @property
    def name(self) -> str:
        return self._players[0].name

    def play(self, path: Path, text: str = "") -> Playback:
        return _FallbackPlayback(self, path, text)

    def start(self, path: Path, text: str) -> tuple[Player, Playback]:
        """Start on the best player still working (the null player never fails)."""
        while True:
            player = self._players[0]
            if len(self._players) == 1:
                self._announce_no_sound()  # at the first sound, not before: saving a WAV needs no sound card
            try:
                return player, player.play(path, text)
            except PlayerFailed as exc:
                self.player_failed(player, str(exc))

    def player_failed(self, player: Player, reason: str) -> None:
        """Drop a player that failed (thread-safe); announces "no sound" once if none is left."""
        with self._lock:
            if self._players and self._players[0] is player and len(self._players) > 1:
                log.warning("audio player %s failed (%s); trying the next one", player.name, reason)
                self._tried.append(player.name)
                self._players.pop(0)

    def _announce_no_sound(self) -> None:
        with self._lock:
            if self._silent_on_purpose or self._announced:
                return
            self._announced = True
        if platform.system() == "Linux" and shutil.which("aplay") is None:  # aplay found and failing: not a package
            hint = _("install alsa-utils (sudo apt install alsa-utils) or check the sound device")
        else:
            hint = _("check the sound device")
        if self._tried:
            message = _("Speech cannot be heard: no working sound output was found (tried {players}); {hint}.").format(
                players=", ".join(self._tried), hint=hint)
        else:
            message = _("Speech cannot be heard: no working sound output was found; {hint}.").format(hint=hint)
        log.info(message)
        if self._on_no_sound:
            self._on_no_sound(message)


class _FallbackPlayback:
    """A playback that moves to the next player when the current one fails mid-way."""

    def __init__(self, owner: FallbackPlayer, path: Path, text: str) -> None:
        self._owner, self._path, self._text = owner, path, text
        self._lock = threading.Lock()
        self._stopped = False
        self._player, self._inner = owner.start(path, text)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            inner = self._inner
        inner.stop()

    def wait(self, timeout: float | None = None) -> bool | None:
        while True:
            try:
                return self._inner.wait(timeout)
            except PlayerFailed as exc:
                self._owner.player_failed(self._player, str(exc))
                with self._lock:
                    if self._stopped:
                        return False
                    self._player, self._inner = self._owner.start(self._path, self._text)
