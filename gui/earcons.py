"""Earcons: short sounds that tell a user the hotkey was heard ("capturing"), the answer is ready ("done")
or something failed ("error"), long before any words are spoken.

PySide6-Essentials has no QtMultimedia (no QSoundEffect), so earcons go through the speech engine's
players (engine.speech.players: pw-play / paplay / aplay / ffplay, afplay, winsound, or the null player),
which also honour DESCRIBE_ALOUD_AUDIO_SINK (each played WAV is copied into that folder; tests read it).

Threading contract: `play()` only puts the name on a queue and returns (microseconds); one daemon thread
starts the sounds, so the GUI thread never waits on audio. With no audio device or player, nothing
raises: the sound is skipped and logged once. `close()` stops the thread.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path

from describe_aloud import assets

log = logging.getLogger(__name__)

# Package data: next to the installed package as in a source checkout.
EARCON_DIR = Path(assets.__file__).resolve().parent / "earcons"
NAMES = ("capturing", "done", "error")
# A sound still waiting after this long is stale (the moment it marked has passed): skip it.
STALE_AFTER_S = 1.0


class Earcons:
    """Plays the app's earcons without ever blocking the caller."""

    def __init__(self, enabled: bool = True, folder: Path | None = None) -> None:
        self.enabled = enabled
        self.folder = folder or EARCON_DIR
        self._paths = {name: self.folder / f"{name}.wav" for name in NAMES}
        missing = [str(p) for p in self._paths.values() if not p.is_file()]
        if missing:
            log.warning("earcon files missing (they ship with the package; reinstall it): %s", ", ".join(missing))
        self._queue: queue.Queue[tuple[str, float] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._player = None
        self._current = None
        self.played: list[str] = []  # names started, in order (for diagnostics and tests)
        if enabled:
            # Start the thread now: it picks the audio player (imports, a PATH search) before the first
            # hotkey, so the first earcon is as quick as the others.
            self._ensure_thread()

    def play(self, name: str) -> None:
        """Start earcon `name` ("capturing", "done", "error") in the background. Never blocks, never raises
        for audio problems; an unknown name is a programming error (ValueError)."""
        if name not in self._paths:
            raise ValueError(f"unknown earcon {name!r}; expected one of {', '.join(NAMES)}")
        if not self.enabled:
            return
        self._ensure_thread()
        self._queue.put((name, time.monotonic()))

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled

    def close(self, timeout: float = 2.0) -> None:
        """Stop the current sound and the player thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        current = self._current
        if current is not None:
            try:
                current.stop()
            except Exception as exc:  # stopping is best effort: the process may be gone already
                log.debug("stopping an earcon: %s", exc)
        self._queue.put(None)
        thread.join(timeout)

    # -- the player thread ---------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="earcons", daemon=True)
                self._thread.start()

    def _make_player(self):
        from describe_aloud.engine.speech.players import FallbackPlayer, choose_players

        return FallbackPlayer(choose_players(), on_no_sound=lambda message: log.warning("earcons: %s", message))

    def _run(self) -> None:
        try:
            if self._player is None:
                self._player = self._make_player()
        except Exception as exc:  # retried on the first play; reported there
            log.debug("earcon player not ready yet: %s", exc)
        while True:
            item = self._queue.get()
            if item is None:
                return
            name, queued_at = item
            if time.monotonic() - queued_at > STALE_AFTER_S:
                log.debug("earcon %s skipped: stale", name)
                continue
            try:
                if self._player is None:
                    self._player = self._make_player()
                playback = self._player.play(self._paths[name], f"earcon:{name}")
                self._current = playback
                self.played.append(name)
                # Wait for it to end (earcons are < 0.5 s) so the next one does not overlap it and
                # the player process is reaped; a newer earcon cuts this one short.
                while playback.wait(0.05) is None:
                    if not self._queue.empty():
                        playback.stop()
                        playback.wait(0.5)
                        break
            except Exception as exc:  # no device, player crashed, file missing: never take the app down
                log.warning("earcon %s could not be played: %s", name, exc)
            finally:
                self._current = None


def open_earcons(enabled: bool) -> Earcons | None:
    """The app's earcons, or None when they cannot start (sounds are a nicety: speech and text still
    report everything)."""
    try:
        return Earcons(enabled)
    except Exception:  # noqa: BLE001 - logged; the app goes on without sounds
        log.warning("earcons unavailable", exc_info=True)
        return None
