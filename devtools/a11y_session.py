"""A private desktop for accessibility tests: a D-Bus session bus, the AT-SPI accessibility bus, a window
manager, and optionally Orca (Debian's package) with its debug log, all on a given X server.

Not app code (not packaged, no pytest). Every process started here is ended by `close()` by its process
id, including the speech-dispatcher that Orca spawns (found through its pid file in our private
XDG_RUNTIME_DIR): nothing is left running, nothing outside this session is touched.

Headless Orca: it speaks through speech-dispatcher, here with libao's "null" audio output (no sound card);
what Orca says is in its debug log as "SPEECH OUTPUT: '...'" lines. Orca kills
any other Orca of the same user when it starts, so only one Orca session at a time per user.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = "dbus at-spi2-core orca speech-dispatcher-espeak-ng python3-pyatspi openbox"
AT_SPI_BUS_LAUNCHER = "/usr/libexec/at-spi-bus-launcher"
SPOKEN = re.compile(r"SPEECH OUTPUT: '(.*?)'", re.S)


# Orca writes its debug log through a block-buffered file: what it said would reach the file kilobytes later,
# or never when it is killed. This launcher runs Debian's /usr/bin/orca unchanged with that one file opened
# line-buffered. (Named "orca", so it is seen as Orca: by Orca itself and by the app's detection.)
_ORCA_LAUNCHER = """import builtins, runpy, sys
_open = builtins.open
def _line_buffered(file, mode="r", *args, **kwargs):
    if "w" in mode and "b" not in mode and str(file) == sys.argv[sys.argv.index("--debug-file") + 1]:
        kwargs["buffering"] = 1
    return _open(file, mode, *args, **kwargs)
builtins.open = _line_buffered
sys.argv[0] = "/usr/bin/orca"
runpy.run_path("/usr/bin/orca", run_name="__main__")
"""


class A11ySessionUnavailable(RuntimeError):
    """A program the session needs is missing or did not start."""


@dataclass
class A11ySession:
    display: str
    root: Path
    env: dict[str, str]
    processes: list[subprocess.Popen] = field(default_factory=list)
    orca_log: Path | None = None

    def start(self, argv: list[str], log_name: str, **popen) -> subprocess.Popen:
        log = open(self.root / log_name, "wb")
        process = subprocess.Popen(argv, env=popen.pop("env", self.env), stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, **popen)
        log.close()
        self.processes.append(process)
        return process

    # Orca ----------------------------------------------------------------------------------------
    def start_orca(self, timeout: float = 60.0) -> None:
        """Start Orca and wait until it has said "Screen reader on." (it is then listening)."""
        self.orca_log = self.root / "orca-debug.log"
        launcher = self.root / "bin" / "orca"
        launcher.parent.mkdir(exist_ok=True)
        launcher.write_text(_ORCA_LAUNCHER, encoding="utf-8")
        self.start(["/usr/bin/python3", str(launcher), "--debug-file", str(self.orca_log)], "orca.out")
        if not self.wait_spoken(lambda said: any("screen reader on" in s.lower() for s in said), timeout):
            raise A11ySessionUnavailable(f"Orca did not start:\n{self.tail('orca.out')}\n{self.orca_tail()}")

    def spoken(self) -> list[str]:
        """Everything Orca has spoken so far, in order."""
        if self.orca_log is None or not self.orca_log.exists():
            return []
        return SPOKEN.findall(self.orca_log.read_text(encoding="utf-8", errors="replace"))

    def wait_spoken(self, predicate, timeout: float) -> list[str] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            said = self.spoken()
            if predicate(said):
                return said
            time.sleep(0.2)
        return None

    def orca_tail(self, chars: int = 4000) -> str:
        if self.orca_log is None or not self.orca_log.exists():
            return "(no Orca log)"
        return self.orca_log.read_text(encoding="utf-8", errors="replace")[-chars:]

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.root / name
        return path.read_text(encoding="utf-8", errors="replace")[-chars:] if path.exists() else ""

    # Ending --------------------------------------------------------------------------------------
    def close(self) -> None:
        for process in reversed(self.processes):
            _end(process.pid, process)
        pid_file = Path(self.env["XDG_RUNTIME_DIR"]) / "speech-dispatcher" / "pid" / "speech-dispatcher.pid"
        if pid_file.exists():  # spawned by Orca, detached from it
            try:
                _end(int(pid_file.read_text().strip()), None)
            except ValueError:
                pass
        self.processes.clear()
        shutil.rmtree(self.root, ignore_errors=True)  # logs included: a failing test has printed them


def _end(pid: int, process: subprocess.Popen | None) -> None:
    """SIGTERM the process group `pid` leads (or the process), SIGKILL after 5 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if process is not None:
                if process.poll() is not None:
                    return
            else:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
            time.sleep(0.05)


def open_session(base_env: dict[str, str], display: str, *, window_manager: bool = True) -> A11ySession:
    """D-Bus session + accessibility bus (+ openbox) for the X server `display`. Close it with close()."""
    for program in ("dbus-daemon", AT_SPI_BUS_LAUNCHER) + (("openbox",) if window_manager else ()):
        if not (Path(program).exists() or subprocess.run(["which", program], capture_output=True).returncode == 0):
            raise A11ySessionUnavailable(f"{program} is missing (apt-get install {PACKAGES})")
    root = Path(tempfile.mkdtemp(prefix="a11y-session-"))
    runtime = root / "run"
    runtime.mkdir(mode=0o700)
    (root / "home").mkdir()
    env = dict(base_env)
    env.update(DISPLAY=display, XDG_RUNTIME_DIR=str(runtime), HOME=str(root / "home"),
               XDG_CONFIG_HOME=str(root / "home" / ".config"), XDG_DATA_HOME=str(root / "home" / ".local" / "share"),
               QT_LINUX_ACCESSIBILITY_ALWAYS_ON="1", QT_ACCESSIBILITY="1", NO_AT_BRIDGE="0")
    _silent_speech_dispatcher(root / "home")
    session = A11ySession(display, root, env)
    try:
        daemon = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True, text=True)
        session.processes.append(daemon)
        address = daemon.stdout.readline().strip() if daemon.stdout else ""
        if not address:
            raise A11ySessionUnavailable("dbus-daemon did not start")
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        session.start([AT_SPI_BUS_LAUNCHER, "--launch-immediately"], "at-spi.out")
        if window_manager:
            session.start(["openbox"], "openbox.out")
        _wait_a11y_bus(env)
        return session
    except BaseException:
        session.close()
        raise


def _silent_speech_dispatcher(home: Path) -> None:
    """speech-dispatcher (spawned by Orca) with an audio output that needs no sound card: libao's built-in
    "null" driver. Without it, opening the sound failed, speech-dispatcher stopped answering after the
    first text, and Orca (waiting on it) hung. User config = the system one + the audio output."""
    config = home / ".config" / "speech-dispatcher"
    shutil.copytree("/etc/speech-dispatcher", config, symlinks=True)
    with open(config / "speechd.conf", "a", encoding="utf-8") as conf:
        conf.write('\nAudioOutputMethod "libao"\n')
    (home / ".libao").write_text("default_driver=null\n", encoding="utf-8")


def _wait_a11y_bus(env: dict[str, str], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = subprocess.run(["dbus-send", "--session", "--print-reply", "--dest=org.a11y.Bus", "/org/a11y/bus",
                               "org.a11y.Bus.GetAddress"], env=env, capture_output=True, text=True)
        if done.returncode == 0 and "unix:" in done.stdout:
            return
        time.sleep(0.2)
    raise A11ySessionUnavailable("the accessibility bus did not start")
