"""`Speaker`: the one object the app and the CLI speak through.

Threading contract
  * Every public method may be called from any thread. `say`, `stop`, `repeat`, `set_*` never block
    (they take a lock for microseconds and hand work over); `save_wav`, `voices` and `wait_until_idle`
    block and belong on worker threads or the command line.
  * Callbacks (`on_started(text)`, `on_finished(text)`, `on_error(message)`) run on the speaker's own
    callback thread, never on the caller's; a GUI must marshal them (e.g. emit a Qt signal).
  * Internally: a controller thread splits texts into sentences, asks the voice process
    (`engine.speech.worker`, the only owner of pyttsx3) for one WAV per sentence - all at once, so the
    first sentence plays while the rest are synthesised - and plays them one by one with a player that
    `stop()` cuts at once.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections import deque
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from describe_aloud.engine.config import Settings
from describe_aloud.engine.i18n import N_, _
from describe_aloud.engine.output_paths import write_whole

from .callbacks import Callback, CallbackThread
from .client import (
    DIED_MESSAGE,
    HUNG_MESSAGE,
    WORKER_MODULE,
    SpeechUnavailable,
    VoiceProcess,
    VoiceRestarted,
    synth_timeout,
)
from .language_runs import VoiceChooser, VoiceInfo, sentence_runs
from .players import FallbackPlayer, Playback, Player, choose_players
from .screen_reader import ScreenReader, ScreenReaderError, find_screen_reader
from .sentences import split_sentences
from .utterance import Utterance as _Utterance
from .utterance import Voice
from .utterance import clamp_rate as _clamp_rate
from .utterance import clamp_volume as _clamp_volume

log = logging.getLogger(__name__)

NO_SCREEN_READER_MESSAGE = N_("No screen reader was found, so the app's own voice is speaking.")
SCREEN_READER_FAILED_MESSAGE = N_("The screen reader did not answer, so the app's own voice is speaking.")

# Sentences synthesised ahead of the one playing: enough that the next is always ready (espeak-ng is
# ~100x faster than real time), few enough that a long OCR text is not synthesised all at once.
LOOKAHEAD_SENTENCES = 3
class Speaker:
    """Speaks texts with the own voice (or the screen reader); see the module docstring for threading."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        on_started: Callback | None = None,
        on_finished: Callback | None = None,
        on_error: Callback | None = None,
        watchdog_timeout: float | None = None,
        player: Player | None = None,
        screen_reader: ScreenReader | None = None,
        worker_module: str = WORKER_MODULE,
    ) -> None:
        settings = settings if settings is not None else Settings.load()
        self._voice: str | None = settings.voice or None
        self._rate = _clamp_rate(settings.rate)
        self._volume = _clamp_volume(settings.volume)
        self._output = settings.speech_output
        self._on_started, self._on_finished, self._on_error = on_started, on_finished, on_error
        self._callbacks = CallbackThread()
        self._reported: set[str] = set()
        self._report_lock = threading.Lock()
        self._workdir = Path(tempfile.mkdtemp(prefix="describe-aloud-speech-"))
        self._lock = threading.RLock()
        self._wakeup = threading.Condition(self._lock)
        self._pending: deque[_Utterance] = deque()
        self._current: _Utterance | None = None
        self._playback: Playback | None = None
        self._gen = 1
        self._file_ids = 0
        self._last_text = ""
        self._closed = False
        self._voices_cache: list[Voice] | None = None
        self._player: Player = player or FallbackPlayer(choose_players(), on_no_sound=self._report_once)
        self._screen_reader = screen_reader
        self._screen_reader_searched = screen_reader is not None
        kwargs = {"timeout_base": watchdog_timeout} if watchdog_timeout is not None else {}
        self._process = VoiceProcess(on_problem=self._voice_problem, worker_module=worker_module, **kwargs)
        self._voices_future = self._process.list_voices()
        self._controller = threading.Thread(target=self._control_loop, name="speech-controller", daemon=True)
        self._controller.start()

    # --- public API -------------------------------------------------------------------------------

    def say(self, text: str, interrupt: bool = True) -> None:
        """Speak `text`. interrupt=True silences what is playing and drops what is queued first;
        interrupt=False queues it after them. Returns at once."""
        text = (text or "").strip()
        if not text:
            return
        with self._lock:
            if self._closed:
                return
            self._last_text = text
            if interrupt:
                self._cancel_locked()
            self._pending.append(_Utterance(text, self._gen, interrupt))
            self._wakeup.notify_all()

    def stop(self) -> None:
        """Silence speech now and drop everything queued. Returns at once; the sound stops within the
        time it takes to kill the player process (a few ms)."""
        with self._lock:
            self._cancel_locked()
        reader = self._screen_reader
        if reader is not None and self._output == "screen_reader":
            reader.stop()

    def repeat(self) -> None:
        """Say the last text again (interrupting)."""
        with self._lock:
            text = self._last_text
        if text:
            self.say(text, interrupt=True)

    @property
    def last_text(self) -> str:
        return self._last_text

    def is_speaking(self) -> bool:
        """True from say() until the last queued text has been spoken or stopped."""
        with self._lock:
            return bool(self._pending) or self._current is not None

    def wait_until_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is being spoken or queued and the callbacks for what was spoken
        (on_finished...) have run; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._pending or self._current is not None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._wakeup.wait(remaining)
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        return self._callbacks.wait_delivered(remaining)

    def voices(self) -> list[Voice]:
        """The installed voices of the own voice (empty when it is unavailable). Asked for when the
        speaker is created, so this only blocks if called in the voice process's first ~0.3 s."""
        if self._voices_cache is None:
            try:
                raw = self._voices_future.result(timeout=10)
            except (SpeechUnavailable, VoiceRestarted, FutureTimeout, CancelledError):
                self._voices_future = self._process.list_voices()  # try again next time
                return []
            self._voices_cache = [Voice(v["id"], v["name"], list(v.get("languages", []))) for v in raw]
        return list(self._voices_cache)

    def set_voice(self, voice_id: str | None) -> None:
        """Use this voice for texts said from now on (an unknown id falls back to the default voice,
        reported once through on_error)."""
        with self._lock:
            self._voice = voice_id or None

    def set_rate(self, words_per_minute: int) -> None:
        """Words per minute for texts said from now on (clamped to 80..500)."""
        with self._lock:
            self._rate = _clamp_rate(words_per_minute)

    def set_volume(self, volume: float) -> None:
        with self._lock:
            self._volume = _clamp_volume(volume)

    def set_output(self, output: str) -> None:
        """"own" voice or "screen_reader" for texts said from now on."""
        if output not in ("own", "screen_reader", "auto"):  # auto: chosen by the app (gui.speech_router)
            raise ValueError(f"unknown speech output {output!r}")
        with self._lock:
            self._output = output

    def apply_settings(self, settings: Settings) -> None:
        """Take voice, rate, volume and output from settings (e.g. after the settings dialog)."""
        self.set_voice(settings.voice)
        self.set_rate(settings.rate)
        self.set_volume(settings.volume)
        self.set_output(settings.speech_output)

    @property
    def unavailable_reason(self) -> str | None:
        """Why the own voice is silent (what to install), or None when it works."""
        return self._process.unavailable

    def save_wav(self, text: str, path: str | Path) -> Path:
        """Write `text` spoken by the own voice to a WAV file; blocks until done. The file appears
        complete or not at all. Raises SpeechUnavailable (a UserFacingError) when there is no voice."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = " ".join((text or "").split())
        if not text:
            raise ValueError("There is no text to save as audio.")
        for attempt in range(2):  # one retry after a watchdog restart
            temp = self._new_wav_path()
            with self._lock:
                voice, rate, volume = self._voice, self._rate, self._volume
            future = self._process.synthesise(text, temp, gen=None, voice=voice, rate=rate, volume=volume)
            try:
                produced = future.result()
            except VoiceRestarted:
                if attempt == 0:
                    continue
                raise SpeechUnavailable(_("The voice stopped responding; the audio was not saved.")) from None
            except RuntimeError as exc:
                raise SpeechUnavailable(_("The voice could not produce audio: {reason}").format(reason=exc)) from exc
            write_whole(path, lambda temp: shutil.copyfile(produced, temp))  # complete, or not at all
            produced.unlink(missing_ok=True)
            return path
        raise AssertionError("unreachable")

    def close(self, timeout: float = 3.0) -> None:
        """Stop speaking, end the voice process and every thread, delete temporary files. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._cancel_locked()
            self._wakeup.notify_all()
        self._controller.join(timeout)
        self._process.close(timeout)
        self._callbacks.close(timeout)
        if self._screen_reader is not None:
            self._screen_reader.close()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> "Speaker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals --------------------------------------------------------------------------------

    def _cancel_locked(self) -> None:
        """Drop queued texts and cut the one playing (lock held)."""
        self._gen += 1
        for utterance in self._pending:
            utterance.cancel()
        self._pending.clear()
        if self._current is not None:
            self._current.cancel()
        if self._playback is not None:
            self._playback.stop()
        self._process.cancel_below(self._gen)
        self._wakeup.notify_all()

    def _report_once(self, message: str) -> None:
        """on_error for a problem; the same message is reported once per speaker."""
        with self._report_lock:  # not self._lock: called from the voice process's threads under its lock
            if message in self._reported:
                return
            self._reported.add(message)
        log.info("speech: %s", message)
        self._callbacks.post(self._on_error, message)

    def _voice_problem(self, message: str) -> None:
        """From the voice process: a restart is reported every time; lasting states once."""
        if message in (_(HUNG_MESSAGE), _(DIED_MESSAGE)):  # translated where the voice process says them
            self._report(message)
        else:
            self._report_once(message)

    def _report(self, message: str) -> None:
        log.info("speech: %s", message)
        self._callbacks.post(self._on_error, message)

    def _new_wav_path(self) -> Path:
        with self._lock:
            self._file_ids += 1
            return self._workdir / f"s{self._file_ids:06d}.wav"

    def _control_loop(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closed:
                    self._wakeup.wait()
                if self._closed:
                    self._current = None
                    self._wakeup.notify_all()
                    return
                utterance = self._current = self._pending.popleft()
            try:
                self._speak(utterance)
            except Exception:  # noqa: BLE001 - one bad utterance must not end speech for good
                log.exception("speaking %r failed", utterance.text[:60])
                self._report(_("Speech failed for this text; the next one will be spoken."))
            finally:
                with self._lock:
                    self._current = None
                    self._playback = None
                    self._wakeup.notify_all()

    def _speak(self, utterance: _Utterance) -> None:
        if self._output == "screen_reader" and self._speak_with_screen_reader(utterance):
            return
        # Sentences cut where the language changes, each run with a voice for its language (language_runs).
        runs = sentence_runs(split_sentences(utterance.text))
        sentences = [run.text for run in runs]
        chooser = self._voice_chooser()
        utterance.voices = [chooser.voice_for(run.language) for run in runs]
        started = False
        try:
            index = 0
            while index < len(sentences) and not utterance.cancelled.is_set():
                wav = self._wait_for_wav(utterance, sentences, index)
                if wav is None:
                    break
                with self._lock:
                    if utterance.cancelled.is_set():
                        break
                    playback = self._playback = self._player.play(wav, sentences[index])
                if not started:
                    started = True
                    self._callbacks.post(self._on_started, utterance.text)
                playback.wait()
                with self._lock:
                    self._playback = None
                wav.unlink(missing_ok=True)
                index += 1
        finally:
            utterance.cancel()  # drops the requests still queued in the voice process
            for future in utterance.futures.values():  # WAVs made ahead but never played
                if future.done() and not future.cancelled() and future.exception() is None:
                    future.result().unlink(missing_ok=True)
            if started:
                self._callbacks.post(self._on_finished, utterance.text)

    def _submit(self, utterance: _Utterance, sentences: list[str], start: int, *, again: bool = False) -> None:
        """Make sure the WAVs of sentences[start : start + LOOKAHEAD] are asked for (again=True: ask anew
        for all of them, after a restart). The voice process works through them in order, so the next
        sentence is ready when the current one ends, without synthesising a long text all at once."""
        with self._lock:
            voice, rate, volume = self._voice, self._rate, self._volume
        for index in range(start, min(len(sentences), start + LOOKAHEAD_SENTENCES)):
            if not again and index in utterance.futures:
                continue
            run_voice = utterance.voices[index] if index < len(utterance.voices) else None
            future = self._process.synthesise(
                sentences[index], self._new_wav_path(), gen=utterance.gen, voice=run_voice or voice, rate=rate,
                volume=volume,
            )
            with self._lock:
                utterance.futures[index] = future
                if utterance.cancelled.is_set():
                    future.cancel()

    def _wait_for_wav(self, utterance: _Utterance, sentences: list[str], index: int) -> Path | None:
        """The WAV of sentences[index], or None when cancelled or there is no voice. The voice process's
        watchdog restarts a hung or dead voice; then the rest of the text is asked for again."""
        self._submit(utterance, sentences, index)
        for _attempt in range(4):
            future = utterance.futures[index]
            try:
                wav = future.result()
            except CancelledError:
                if utterance.cancelled.is_set():
                    return None
                # Skipped by the voice process as out of date, yet still wanted: ask again.
                self._submit(utterance, sentences, index, again=True)
            except VoiceRestarted:
                if utterance.cancelled.is_set():
                    return None
                self._submit(utterance, sentences, index, again=True)
            except SpeechUnavailable:
                return None
            except RuntimeError as exc:
                self._report(_("The voice could not say a sentence: {reason}").format(reason=exc))
                return None
            else:
                with self._lock:  # cancel() may be iterating the futures on another thread
                    del utterance.futures[index]
                self._submit(utterance, sentences, index + 1)  # keep the pipeline full while this plays
                return wav
        return None

    def _voice_chooser(self) -> VoiceChooser:
        """Voices for the languages of a text, given the user's voice (see language_runs)."""
        from describe_aloud.engine.i18n import current_language

        with self._lock:
            chosen = self._voice
        installed = [VoiceInfo(v.id, tuple(v.languages)) for v in self.voices()]
        return VoiceChooser(installed, chosen, current_language() or "en")

    def _speak_with_screen_reader(self, utterance: _Utterance) -> bool:
        """Hand the text to the screen reader; False (own voice takes over) when there is none or it fails."""
        if not self._screen_reader_searched:
            self._screen_reader_searched = True
            self._screen_reader = find_screen_reader()
        reader = self._screen_reader
        if reader is None:
            self._report_once(_(NO_SCREEN_READER_MESSAGE))
            return False
        try:
            reader.speak(utterance.text, interrupt=utterance.interrupt)
        except ScreenReaderError as exc:
            log.warning("screen reader %s failed: %s", reader.name, exc)
            self._report_once(_(SCREEN_READER_FAILED_MESSAGE))
            return False
        self._callbacks.post(self._on_started, utterance.text)
        self._callbacks.post(self._on_finished, utterance.text)
        return True


def create_speaker(
    settings: Settings | None = None,
    *,
    on_started: Callback | None = None,
    on_finished: Callback | None = None,
    on_error: Callback | None = None,
    watchdog_timeout: float | None = None,
    worker_module: str = WORKER_MODULE,
) -> Speaker:
    """A ready Speaker (the voice process starts in the background; the first say() may wait for it).
    settings=None loads the user's settings. Close it with close() (or use it as a context manager)."""
    return Speaker(
        settings, on_started=on_started, on_finished=on_finished, on_error=on_error,
        watchdog_timeout=watchdog_timeout, worker_module=worker_module,
    )


__all__ = ["Speaker", "Voice", "create_speaker", "synth_timeout"]
