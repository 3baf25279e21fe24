"""How the command line talks to the running app: the single-instance protocol and its client, without Qt.

Where global hotkeys cannot work (Wayland, a shortcut taken by another program) the user binds
`describe-aloud describe-screen` in the desktop's own shortcut settings; that command sends one line to the
running app and waits for its acknowledgement. The app's end (a QLocalServer) is gui/single_instance.py;
this module is plain Python so the command line reaches the app without importing Qt.

Protocol: the client sends one command name and "\\n"; the server answers "ok\\n" once it has handed the
command on, or "error <reason>\\n". Commands: COMMANDS below ("ping" is answered by the server itself).

Where the socket lives (one place decides: `socket_folder()`):
- Linux/macOS: an absolute path, `<socket_folder()>/describe-aloud-<uid>[-<config hash>].sock`. QLocalServer
  listens on exactly that path when given an absolute name, so a plain AF_UNIX socket reaches it.
- Windows: QLocalServer turns a plain name into the named pipe `\\\\.\\pipe\\<name>`; the client opens that
  pipe with ordinary file I/O.
A different DESCRIBE_ALOUD_CONFIG_DIR means a different instance (tests, portable setups).

Threading contract: `send_command` blocks for at most about `timeout_ms` and may be called from any thread of
a process that is not the server.
"""
from __future__ import annotations

import getpass
import hashlib
import logging
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from describe_aloud.engine import environment
from describe_aloud.engine.i18n import _

log = logging.getLogger(__name__)

COMMANDS = (
    "describe_screen",
    "describe_window",
    "describe_region",
    "describe_all_monitors",
    "describe_clipboard",
    "stop_speech",
    "more_detail",
    "repeat",
    "show",
    "quit",
    "ping",  # answered by the server itself: "is an app running?"
)
MAX_LINE = 256
PIPE_PREFIX = "\\\\.\\pipe\\"
_ERROR_PIPE_BUSY = 231  # every instance of the pipe is serving another client: try again shortly


def _on_windows() -> bool:
    return sys.platform.startswith("win")


def _user_tag() -> str:
    if not _on_windows():
        return str(os.getuid())
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in the environment: one shared name per session is still correct
        user = "user"
    return "".join(c for c in user if c.isalnum() or c in "-_") or "user"


def server_name() -> str:
    """The per-user (and per-config-folder, when overridden) instance name."""
    name = f"describe-aloud-{_user_tag()}"
    override = environment.CONFIG_DIR.get()
    if override:
        name += "-" + hashlib.sha1(os.path.abspath(override).encode("utf-8")).hexdigest()[:10]
    return name


def socket_folder() -> Path:
    """The folder holding the socket and its lock file on Linux/macOS (and the lock file on Windows).

    The one place that decides it: XDG_RUNTIME_DIR (private to the user) when it is usable, else the
    temp folder."""
    if not _on_windows():
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        if runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK):
            return Path(runtime)
    return Path(tempfile.gettempdir())


def socket_address() -> str:
    """What QLocalServer listens on: an absolute socket path on Unix, a pipe name on Windows."""
    if _on_windows():
        return server_name()
    return str(socket_folder() / f"{server_name()}.sock")


def pipe_path() -> str:
    """The Windows named pipe QLocalServer creates for `socket_address()`."""
    return PIPE_PREFIX + server_name()


def lock_path() -> str:
    """The lock file held while a server runs (a crashed app's leftover socket is told apart by it)."""
    return str(socket_folder() / f"{server_name()}.lock") if _on_windows() else socket_address() + ".lock"


def send_command(command: str, timeout_ms: int = 1500) -> bool:
    """Deliver `command` to the running app; True once the app acknowledged it.

    False when no app is running (or it did not answer within `timeout_ms`). Never raises for a missing
    or dead app: the caller then works standalone. An unknown command is a ValueError.
    """
    if command not in COMMANDS:
        raise ValueError(f"unknown command {command!r}; expected one of {', '.join(COMMANDS)}")
    payload = (command + "\n").encode("utf-8")
    try:
        reply = _exchange_pipe(payload, timeout_ms) if _on_windows() else _exchange_unix(payload, timeout_ms)
    except OSError as exc:
        log.debug("no running app answered on %s: %s", socket_address(), exc)
        return False
    if reply.startswith("ok"):
        return True
    log.warning("the running app refused %r: %s", command, reply)
    return False


def _read_reply(receive) -> str:
    """Read one line (at most MAX_LINE bytes) with `receive(n) -> bytes`; b"" means the other end closed."""
    reply = b""
    while b"\n" not in reply and len(reply) < MAX_LINE:
        chunk = receive(MAX_LINE)
        if not chunk:
            break
        reply += chunk
    return reply.decode("utf-8", "replace").strip()


def _exchange_unix(payload: bytes, timeout_ms: int) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(max(timeout_ms, 1) / 1000.0)
        sock.connect(socket_address())
        sock.sendall(payload)
        return _read_reply(sock.recv)


def _exchange_pipe(payload: bytes, timeout_ms: int) -> str:
    """Windows: the pipe opened as a file. A blocking read cannot time out, so it runs on a daemon thread
    that is left behind if the app never answers (the command line exits right after)."""
    deadline = time.monotonic() + max(timeout_ms, 1) / 1000.0
    while True:
        try:
            pipe = open(pipe_path(), "r+b", buffering=0)  # noqa: SIM115 - closed by the reader thread
            break
        except OSError as exc:
            if exc.winerror != _ERROR_PIPE_BUSY or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)
    replies: list[str] = []

    def exchange() -> None:
        with pipe:
            pipe.write(payload)
            replies.append(_read_reply(pipe.read))

    reader = threading.Thread(target=exchange, name="ipc-pipe", daemon=True)
    reader.start()
    reader.join(max(deadline - time.monotonic(), 0.05))
    if not replies:
        raise OSError(_("the running app did not answer in time"))
    return replies[0]
