"""One app per user, and a local socket through which `python main.py describe-screen` drives it.

Where global hotkeys cannot work (Wayland, a shortcut taken by another program) the user binds
`python main.py describe-screen` in the desktop's own shortcut settings; that command sends one line to the
running app over this socket and waits for the app's acknowledgement.

Protocol: the client sends one command name and "\\n"; the server answers "ok\\n" once it has handed the
command on (emitted `command_received`), or "error <reason>\\n". Commands: COMMANDS below.

Where the socket lives: on Linux/macOS an absolute path, `<runtime dir>/describe-aloud-<uid>[-<config
hash>].sock` (XDG_RUNTIME_DIR, else the temp dir), so the CLI can talk to it with Python's own AF_UNIX
socket, no Qt event loop needed. On Windows a named pipe of the same name, reached with QLocalSocket.
A different DESCRIBE_ALOUD_CONFIG_DIR means a different instance (tests, portable setups).

A crashed app leaves its socket file behind: a QLockFile next to it (held while the server runs; Qt
recognises the lock of a dead process as stale) tells a leftover socket from a live app, and a leftover
is removed before listening.

Threading contract: InstanceServer lives in the GUI thread and emits `command_received` there.
`send_command` blocks for at most `timeout_ms` and may be called from any thread of a process that is
not the server (the CLI).
"""
from __future__ import annotations

import getpass
import hashlib
import logging
import os
import socket
import sys
import tempfile
from pathlib import Path

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
_MAX_LINE = 256


def _user_tag() -> str:
    if hasattr(os, "getuid"):
        return str(os.getuid())
    try:
        user = getpass.getuser()
    except Exception:  # no user name in the environment: one shared name is still correct per session
        user = "user"
    return "".join(c for c in user if c.isalnum() or c in "-_") or "user"


def server_name() -> str:
    """The per-user (and per-config-folder, when overridden) instance name."""
    name = f"describe-aloud-{_user_tag()}"
    override = os.environ.get("DESCRIBE_ALOUD_CONFIG_DIR")
    if override:
        name += "-" + hashlib.sha1(os.path.abspath(override).encode("utf-8")).hexdigest()[:10]
    return name


def _runtime_dir() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK):
        return Path(runtime)
    return Path(tempfile.gettempdir())


def socket_address() -> str:
    """What QLocalServer listens on: an absolute socket path on Unix, a pipe name on Windows."""
    if sys.platform.startswith("win"):
        return server_name()
    return str(_runtime_dir() / f"{server_name()}.sock")


def _lock_path() -> str:
    if sys.platform.startswith("win"):
        return str(Path(tempfile.gettempdir()) / f"{server_name()}.lock")
    return socket_address() + ".lock"


def _define_server_class():
    """Build InstanceServer on first use: the CLI's send_command path must not pay ~0.2 s to import Qt."""
    from PySide6.QtCore import QLockFile, QObject, Signal
    from PySide6.QtNetwork import QLocalServer, QLocalSocket

    class InstanceServer(QObject):
        """Listens for commands from `python main.py describe-screen` and friends.

        `start()` returns False when another instance already runs (then send it "show" and exit).
        """

        command_received = Signal(str)

        def __init__(self, parent: QObject | None = None) -> None:
            super().__init__(parent)
            self._server: QLocalServer | None = None
            self._lock: QLockFile | None = None
            self._buffers: dict[QLocalSocket, bytes] = {}

        @property
        def address(self) -> str:
            return socket_address()

        def start(self) -> bool:
            lock = QLockFile(_lock_path())
            lock.setStaleLockTime(0)  # never stale by age: only when its process is gone
            if not lock.tryLock(200):
                log.info("another instance holds %s", lock.fileName())
                return False
            address = socket_address()
            # We hold the lock, so a socket file here is a crashed app's leftover, not a live app's.
            QLocalServer.removeServer(address)
            server = QLocalServer(self)
            server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
            if not server.listen(address):
                log.warning("cannot listen on %s: %s", address, server.errorString())
                lock.unlock()
                return False
            server.newConnection.connect(self._on_new_connection)
            self._server, self._lock = server, lock
            log.info("single-instance server listening on %s", address)
            return True

        def close(self) -> None:
            """Stop listening and remove the socket and lock files."""
            for client in list(self._buffers):
                client.abort()
            self._buffers.clear()
            if self._server is not None:
                self._server.close()
                self._server.deleteLater()
                self._server = None
            if self._lock is not None:
                self._lock.unlock()
                self._lock = None

        def is_listening(self) -> bool:
            return self._server is not None and self._server.isListening()

        # -- connections --------------------------------------------------------------------------------

        def _on_new_connection(self) -> None:
            while self._server is not None and self._server.hasPendingConnections():
                client = self._server.nextPendingConnection()
                self._buffers[client] = b""
                client.readyRead.connect(lambda c=client: self._on_ready_read(c))
                client.disconnected.connect(lambda c=client: self._forget(c))

        def _forget(self, client: QLocalSocket) -> None:
            self._buffers.pop(client, None)
            client.deleteLater()

        def _on_ready_read(self, client: QLocalSocket) -> None:
            if client not in self._buffers:
                return
            data = self._buffers[client] + bytes(client.readAll().data())
            if b"\n" not in data:
                if len(data) > _MAX_LINE:
                    self._reply(client, "error command too long")
                else:
                    self._buffers[client] = data
                return
            line = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
            self._buffers[client] = b""
            if line == "ping":
                self._reply(client, "ok")
            elif line in COMMANDS:
                log.info("command from the command line: %s", line)
                self._reply(client, "ok")  # delivered: the app acts on it now
                self.command_received.emit(line)
            else:
                self._reply(client, f"error unknown command {line[:40]!r}")

        @staticmethod
        def _reply(client: QLocalSocket, text: str) -> None:
            client.write((text + "\n").encode("utf-8"))
            client.flush()
            client.disconnectFromServer()

    return InstanceServer


def __getattr__(name: str):
    if name == "InstanceServer":
        cls = _define_server_class()
        globals()["InstanceServer"] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------------------------------------------
# Client side (the CLI)
# ------------------------------------------------------------------------------------------------------


def send_command(command: str, timeout_ms: int = 1500) -> bool:
    """Deliver `command` to the running app; True once the app acknowledged it.

    False when no app is running (or it did not answer within `timeout_ms`). Never raises for a missing
    or dead app: the caller then works standalone.
    """
    if command not in COMMANDS:
        raise ValueError(f"unknown command {command!r}; expected one of {', '.join(COMMANDS)}")
    payload = (command + "\n").encode("utf-8")
    try:
        if sys.platform.startswith("win"):
            reply = _exchange_qt(payload, timeout_ms)
        else:
            reply = _exchange_unix(payload, timeout_ms)
    except OSError as exc:
        log.debug("no running app answered on %s: %s", socket_address(), exc)
        return False
    if reply.startswith("ok"):
        return True
    log.warning("the running app refused %r: %s", command, reply)
    return False


def _exchange_unix(payload: bytes, timeout_ms: int) -> str:
    path = socket_address()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(max(timeout_ms, 1) / 1000.0)
        sock.connect(path)
        sock.sendall(payload)
        reply = b""
        while b"\n" not in reply and len(reply) < _MAX_LINE:
            chunk = sock.recv(_MAX_LINE)
            if not chunk:
                break
            reply += chunk
    return reply.decode("utf-8", "replace").strip()


def _exchange_qt(payload: bytes, timeout_ms: int) -> str:
    # QLocalSocket's blocking calls work without a running event loop; a QCoreApplication must exist.
    from PySide6.QtCore import QCoreApplication

    if QCoreApplication.instance() is None:
        _exchange_qt.app = QCoreApplication([])  # type: ignore[attr-defined]  # kept alive for the process
    client = QLocalSocket()
    client.connectToServer(socket_address())
    if not client.waitForConnected(timeout_ms):
        raise OSError(client.errorString())
    client.write(payload)
    if not client.waitForBytesWritten(timeout_ms):
        raise OSError(client.errorString())
    reply = b""
    while b"\n" not in reply:
        if not client.waitForReadyRead(timeout_ms):
            break
        reply += bytes(client.readAll().data())
    client.abort()
    return reply.decode("utf-8", "replace").strip()
