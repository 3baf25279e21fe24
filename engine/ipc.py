"""How the command line talks to the running app: the single-instance protocol and its client, without Qt.

Where global hotkeys cannot work (Wayland, a shortcut taken by another program) the user binds
`describe-aloud describe-screen` in the desktop's own shortcut settings; that command sends one line to the
running app and waits for its acknowledgement. The app's end (a QLocalServer) is gui/single_instance.py;
this module is plain Python so the command line reaches the app without importing Qt.

Protocol: the client sends one command name and "\\n"; the server answers "ok\\n" once it has handed the
command on, or "error <reason>\\n". Commands: COMMANDS below ("ping" is answered by the server itself).
The commands in ARGUMENT_COMMANDS carry one argument on the same line after a space ("ask What colour is
the car?"): `command_line` makes that line, `parse_command_line` splits it again.

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
import stat
import struct
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
    "ask",  # "ask <question>": a question about the last description's image
    "ping",  # answered by the server itself: "is an app running?"
)
ARGUMENT_COMMANDS = frozenset({"ask"})
MAX_LINE = 1024
MAX_ARGUMENT_BYTES = 900  # a question longer than this is cut (at a character boundary)
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


class UnsafeFolder(OSError):
    """A folder for the socket that another user owns or can write into."""


def socket_folder() -> Path:
    """The folder holding the socket and its lock file on Linux/macOS (and the lock file on Windows).

    The one place that decides it. Anyone who can create the socket path first receives our commands, so
    it must be a folder only this user can write: XDG_RUNTIME_DIR (private to the user) when it is usable,
    else `<temp>/describe-aloud-<uid>` made with mode 0700 and checked to be ours, else (another user made
    that one first) `<config folder>/run`."""
    if _on_windows():
        return Path(tempfile.gettempdir())
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK):
        try:
            return _checked_private(Path(runtime))
        except OSError as exc:
            log.warning("XDG_RUNTIME_DIR is not private (%s); using a folder of our own", exc)
    for candidate in (Path(tempfile.gettempdir()) / f"describe-aloud-{os.getuid()}", _config_run_folder()):
        try:
            return _private_folder(candidate)
        except OSError as exc:
            log.warning("cannot use %s for the app's socket: %s", candidate, exc)
    raise UnsafeFolder("no private folder for the app's socket")


def _config_run_folder() -> Path:
    from describe_aloud.engine.config import config_dir

    return config_dir() / "run"


def _checked_private(folder: Path) -> Path:
    """`folder` if it is a real folder owned by this user that no one else can write into."""
    st = os.lstat(folder)
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeFolder(f"{folder} is not a folder")
    if st.st_uid != os.getuid():
        raise UnsafeFolder(f"{folder} belongs to another user (uid {st.st_uid})")
    if st.st_mode & 0o022:
        raise UnsafeFolder(f"{folder} can be written by other users")
    return folder


def _private_folder(folder: Path) -> Path:
    """Create `folder` with mode 0700 (or take it when it already is ours) and check it."""
    try:
        folder.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        pass
    _checked_private(folder)
    if stat.S_IMODE(os.lstat(folder).st_mode) & 0o077:
        os.chmod(folder, 0o700)  # ours: make it private
    return folder


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


def command_line(command: str, argument: str | None = None) -> str:
    """The line sent for `command` (and its argument: one line, whitespace collapsed, cut to size)."""
    if command not in COMMANDS:
        raise ValueError(f"unknown command {command!r}; expected one of {', '.join(COMMANDS)}")
    if argument is None:
        return command
    if command not in ARGUMENT_COMMANDS:
        raise ValueError(f"the command {command!r} takes no argument")
    text = " ".join(argument.split()).encode("utf-8")[:MAX_ARGUMENT_BYTES].decode("utf-8", "ignore")
    return f"{command} {text}"


def parse_command_line(line: str) -> tuple[str, str | None] | None:
    """(command, argument or None) for a line a client sent, None when it is not a valid command."""
    name, _space, argument = line.strip().partition(" ")
    if name not in COMMANDS:
        return None
    if name in ARGUMENT_COMMANDS:
        return (name, argument.strip()) if argument.strip() else None
    return None if argument.strip() else (name, None)


def send_command(command: str, timeout_ms: int = 1500, argument: str | None = None) -> bool:
    """Deliver `command` (with its `argument`, for ARGUMENT_COMMANDS) to the running app; True once the
    app acknowledged it.

    False when no app is running (or it did not answer within `timeout_ms`). Never raises for a missing
    or dead app: the caller then works standalone. An unknown command is a ValueError.
    """
    payload = (command_line(command, argument) + "\n").encode("utf-8")
    try:
        reply = _exchange_pipe(payload, timeout_ms) if _on_windows() else _exchange_unix(payload, timeout_ms)
    except OSError as exc:
        log.debug("no running app answered: %s", exc)  # (socket_address() may be what raised)
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


def _exchange_unix(payload: bytes, timeout_ms: int, address: str | None = None) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(max(timeout_ms, 1) / 1000.0)
        sock.connect(address or socket_address())
        _check_peer_is_us(sock)  # before a single byte of ours is sent
        sock.sendall(payload)
        return _read_reply(sock.recv)


def _check_peer_is_us(sock: socket.socket) -> None:
    """Refuse a server run by another user (it could have made the socket first). Linux: the kernel's
    SO_PEERCRED; elsewhere the socket file's owner."""
    peer_cred = getattr(socket, "SO_PEERCRED", None)
    if peer_cred is not None:
        _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, peer_cred, struct.calcsize("3i")))
    else:
        uid = os.stat(sock.getpeername()).st_uid
    if uid != os.getuid():
        raise UnsafeFolder(f"the app's socket is served by another user (uid {uid}); not used")


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
