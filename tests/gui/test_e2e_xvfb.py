"""End to end under a real X server: the app with a tiny model, a window with known words, the
describe-screen command and the global hotkey, the history and the speech that comes out.

Nothing is faked: `python main.py gui --model <tiny GIT folder>` runs as its own process on Xvfb,
mss grabs the real screen, rapidocr reads the words, the tiny captioner captions, the speech engine speaks
into DESCRIBE_ALOUD_AUDIO_SINK (its null player copies every WAV there), earcons too.
A screenshot of the app's window is written to tests/output/ for review.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "tests" / "output"
WORDS = ("HELLO", "WORLD")
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
READY_TIMEOUT = 180  # torch import + tiny model load on a busy 2-core machine


def _known_text_picture(path: Path) -> Path:
    image = Image.new("RGB", (760, 200), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.text((30, 50), " ".join(WORDS), fill=(0, 0, 0), font=ImageFont.truetype(FONT, 72))
    image.save(path)
    return path


def _wait_until(predicate, timeout: float, what: str, diagnostics=lambda: "", interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{diagnostics()}")


def _sink_entries(sink: Path) -> list[dict]:
    log = sink / "playback.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


def _history_entries() -> list:
    from describe_aloud.engine.history import HistoryStore, history_path

    if not history_path().exists():
        return []
    with HistoryStore() as store:
        return store.recent(50)


class _App:
    """The app as a subprocess, with its stderr kept for the failure message."""

    def __init__(self, env: dict[str, str], model_dir: Path, log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "w", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "main.py", "gui", "--model", str(model_dir)],
            cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-6000:]

    def stop(self) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
        return self.process.returncode


def _net_wm_user_time(display_name: str, title: str) -> list[int | None]:
    """_NET_WM_USER_TIME of each top-level window called `title` (None where it is not set). 0 tells the
    window manager not to give the window the focus when it is mapped (EWMH), i.e. shown without
    taking the focus from the user's application."""
    from Xlib import X, display as xdisplay

    d = xdisplay.Display(display_name)
    try:
        atom = d.intern_atom("_NET_WM_USER_TIME")
        values: list[int | None] = []
        for window in d.screen().root.query_tree().children:
            if window.get_wm_name() != title or window.get_attributes().map_state != X.IsViewable:
                continue
            prop = window.get_full_property(atom, X.AnyPropertyType)
            values.append(int(prop.value[0]) if prop is not None else None)
        return values
    finally:
        d.close()


def _run_cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _env(xvfb, isolated_user_dirs: Path, sink: Path) -> dict[str, str]:
    return xvfb.env(
        DESCRIBE_ALOUD_AUDIO_SINK=str(sink),
        OMP_NUM_THREADS="1",
        PYTHONUNBUFFERED="1",
        DESCRIBE_ALOUD_CONFIG_DIR=os.environ["DESCRIBE_ALOUD_CONFIG_DIR"],
        DESCRIBE_ALOUD_DATA_DIR=os.environ["DESCRIBE_ALOUD_DATA_DIR"],
    )


@pytest.mark.xvfb
@pytest.mark.timeout(600)
def test_describe_screen_command_and_hotkey_reach_the_running_app(xvfb, show_picture, tiny_git_dir, tmp_path,
                                                                  isolated_user_dirs, tiny_florence2_dir):
    from describe_aloud.engine.capture import capture, close_thread_capturer
    from describe_aloud.engine.config import Settings
    from describe_aloud.engine.ipc import send_command

    sink = tmp_path / "sink"
    env = _env(xvfb, isolated_user_dirs, sink)
    settings = Settings.load()
    settings.detail_model = str(tiny_florence2_dir)  # "more detail" is asked for from the command line below
    settings.save()
    app = _App(env, tiny_git_dir, tmp_path / "app.log")

    def diagnostics() -> str:
        spoken = [e.get("text") for e in _sink_entries(sink)]
        return f"spoken: {spoken}\napp output:\n{app.output()}"

    try:
        # 1. The app starts, answers on its socket and says "Ready." once it can read text (the captioner
        #    may still be loading: the description below then waits for its caption, nothing is lost).
        _wait_until(lambda: app.process.poll() is not None or send_command("ping", 500), READY_TIMEOUT,
                    "the app's single-instance socket", diagnostics)
        assert app.process.poll() is None, diagnostics()
        _wait_until(lambda: any("ready" in (e.get("text") or "").lower() for e in _sink_entries(sink)),
                    READY_TIMEOUT, "the app to say Ready", diagnostics)

        # A screenshot of the real window, for review.
        OUTPUT.mkdir(exist_ok=True)
        try:
            shot = capture("all_monitors")
        finally:
            close_thread_capturer()
        shot.image.save(OUTPUT / "e2e_app_window_xvfb.png")
        assert not shot.near_black, "the app's window is not on the screen"

        # 2. A window with known words goes on top, then the desktop shortcut's command is run.
        show_picture(_known_text_picture(tmp_path / "words.png"), x=450, y=450, title="words")
        before = len(_history_entries())
        result = _run_cli(env, "describe-screen")
        assert result.returncode == 0, result.stderr
        assert "Sent to the running Describe Aloud app." in result.stdout
        entries = _wait_until(lambda: (e := _history_entries()) and len(e) > before and e, 120,
                              "a new history entry", diagnostics)
        newest = entries[0]
        read_text = " ".join(line.get("text", "") for line in newest.description.get("text_lines", []))
        for word in WORDS:
            assert word in read_text.upper(), (read_text, newest.text)
            assert word in newest.text.upper()
        assert newest.source  # where it came from ("screen")
        # The app's own window was on the screen, but hidden from its capture: none of its menus and
        # buttons were read into the description of the screen.
        for own_label in ("Copy description", "Describe screen", "More detail"):
            assert own_label.upper() not in read_text.upper(), read_text
        assert newest.text.startswith("Screen with text."), newest.text  # a screen, not a "Picture"
        # ... and back on the screen afterwards, shown without taking the focus from the words window.
        assert _net_wm_user_time(env["DISPLAY"], "Describe Aloud") == [0]
        timings = newest.description["timings_ms"]
        print(f"\nown windows hidden for the capture: hide + X round trip {timings['hide']:.2f} ms, "
              f"until the capture {timings['hide_wait']:.1f} ms")

        # ... and it was spoken: the description's text went to the sink as WAVs, after the earcons.
        def spoken_words():
            texts = " ".join((e.get("text") or "") for e in _sink_entries(sink)).upper()
            return all(word in texts for word in WORDS)

        _wait_until(spoken_words, 60, "the description to be spoken", diagnostics)
        texts = [e.get("text") for e in _sink_entries(sink)]
        assert "earcon:capturing" in texts and "earcon:done" in texts
        wavs = sorted(sink.glob("[0-9][0-9][0-9][0-9].wav"))
        assert len(wavs) >= 3 and all(w.stat().st_size > 44 for w in wavs)

        # A screenshot with the description shown, for review.
        try:
            capture("all_monitors").image.save(OUTPUT / "e2e_app_described_xvfb.png")
        finally:
            close_thread_capturer()

        # The command line sees the same history.
        last = _run_cli(env, "history", "--last", "--json")
        assert last.returncode == 0, last.stderr
        assert all(word in json.loads(last.stdout)["text"].upper() for word in WORDS)

        # 3. The global hotkey does the same, and the "capturing" earcon comes first.
        from describe_aloud.gui.earcons import EARCON_DIR

        capturing = (EARCON_DIR / "capturing.wav").read_bytes()
        old_wavs = set(sink.glob("[0-9][0-9][0-9][0-9].wav"))
        before = len(_history_entries())

        def capturing_earcon_started() -> bool:  # the sink copies each WAV as it starts playing
            return any(w.read_bytes() == capturing for w in set(sink.glob("[0-9][0-9][0-9][0-9].wav")) - old_wavs)

        pressed = time.monotonic()
        subprocess.run(["xdotool", "key", "ctrl+alt+d"], env=env, check=True, timeout=10)
        _wait_until(capturing_earcon_started, 30, "the capturing earcon after the hotkey", diagnostics, 0.005)
        earcon_after = time.monotonic() - pressed
        _wait_until(lambda: len(_history_entries()) > before, 120, "the hotkey's description", diagnostics)
        print(f"\nhotkey -> capturing earcon (file in the sink) after {earcon_after * 1000:.0f} ms")

        # 3b. "More detail" from the command line: the detail model's words are said after the description.
        spoken_before = len(_sink_entries(sink))
        result = _run_cli(env, "more-detail")
        assert result.returncode == 0, result.stderr
        assert "Sent to the running Describe Aloud app." in result.stdout
        _wait_until(lambda: any((e.get("text") or "").startswith("More detail")
                                for e in _sink_entries(sink)[spoken_before:]), 120, "the added detail", diagnostics)
        _wait_until(lambda: "More detail" in _run_cli(env, "history", "--last").stdout, 30,
                    "the detail in the history", diagnostics)

        # 4. Quit cleanly through the same socket.
        assert send_command("quit", 3000)
        app.process.wait(30)
        assert app.process.returncode == 0, diagnostics()
        # The socket is gone: a new start would be the first instance.
        assert not send_command("ping", 500)
    finally:
        app.stop()


@pytest.mark.xvfb
@pytest.mark.timeout(600)
def test_describe_screen_standalone_without_the_app(xvfb, show_picture, tiny_git_dir, tmp_path, isolated_user_dirs):
    sink = tmp_path / "sink"
    env = _env(xvfb, isolated_user_dirs, sink)
    show_picture(_known_text_picture(tmp_path / "words.png"), x=100, y=100, title="words")

    result = _run_cli(env, "describe-screen", "--json", "--model", str(tiny_git_dir), "--speak",
                      "--save-image", str(tmp_path / "shot.png"), timeout=300)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["path"] == "screen" and record["error"] is None
    assert all(word in record["text"].upper() for word in WORDS), record
    assert record["width"] == xvfb.width and record["height"] == xvfb.height
    # The capture itself, as saved, is the screen with the words where the window was put.
    shot = Image.open(tmp_path / "shot.png")
    assert shot.size == (xvfb.width, xvfb.height)
    assert shot.getpixel((110, 110)) == (255, 255, 255)
    # Spoken (into the sink) and kept in the history.
    spoken = " ".join((e.get("text") or "") for e in _sink_entries(sink)).upper()
    assert all(word in spoken for word in WORDS), spoken
    entries = _history_entries()
    assert entries and all(word in entries[0].text.upper() for word in WORDS)


@pytest.mark.xvfb
@pytest.mark.timeout(120)
def test_black_screen_standalone_says_how_to_fix_it(xvfb, tmp_path, isolated_user_dirs):
    env = _env(xvfb, isolated_user_dirs, tmp_path / "sink")
    result = _run_cli(env, "describe-screen", "--standalone", "--no-ocr", timeout=120)
    assert result.returncode == 1
    assert "completely black" in result.stderr
    assert "screen is locked" in result.stderr  # the X11 hint: nothing is described
