"""One app per user: the server end of the single-instance socket (the protocol and the client, which the
command line uses without Qt, are engine/ipc.py).

A crashed app leaves its socket file behind: a QLockFile next to it (held while the server runs; Qt
recognises the lock of a dead process as stale) tells a leftover socket from a live app, and a leftover
is removed before listening.

Threading contract: InstanceServer lives in the GUI thread and emits `command_received` there.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QLockFile, QObject, QTimer, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from describe_aloud.engine.ipc import MAX_LINE, lock_path, parse_command_line, socket_address

log = logging.getLogger(__name__)

MAX_CLIENTS = 32  # connections waiting for their command at once
IDLE_MS = 2000  # a client that has not sent its whole command by then is dropped


class InstanceServer(QObject):
    """Listens for commands from `describe-aloud describe-screen` and friends.

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
        lock = QLockFile(lock_path())
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
            if len(self._buffers) >= MAX_CLIENTS:
                # A flood of idle connections must not lock the real command line out for long: the
                # newest is told at once, the idle ones are dropped after IDLE_MS.
                self._reply(client, "error busy")
                client.disconnected.connect(client.deleteLater)
                continue
            self._buffers[client] = b""
            client.readyRead.connect(lambda c=client: self._on_ready_read(c))
            client.disconnected.connect(lambda c=client: self._forget(c))
            QTimer.singleShot(IDLE_MS, self, lambda c=client: self._drop_if_idle(c))

    def _drop_if_idle(self, client: QLocalSocket) -> None:
        if client in self._buffers:  # connected IDLE_MS ago and still no whole command
            self._reply(client, "error timed out waiting for a command")

    def _forget(self, client: QLocalSocket) -> None:
        self._buffers.pop(client, None)
        client.deleteLater()

    def _on_ready_read(self, client: QLocalSocket) -> None:
        if client not in self._buffers:
            return
        data = self._buffers[client] + bytes(client.readAll().data())
        if b"\n" not in data:
            if len(data) > MAX_LINE:
                self._reply(client, "error command too long")
            else:
                self._buffers[client] = data
            return
        line_bytes, _, rest = data.partition(b"\n")
        self._buffers[client] = b""
        if len(line_bytes) > MAX_LINE:  # the same limit whether or not the newline came in the same read
            self._reply(client, "error command too long")
            return
        line = line_bytes.decode("utf-8", "replace").strip()
        # One command per connection (the protocol): more is said, not silently dropped.
        extra = [x for x in rest.split(b"\n") if x.strip()]
        note = f" (ignored {len(extra)} more: one command per connection)" if extra else ""
        if line == "ping":
            self._reply(client, "ok" + note)
        elif parse_command_line(line) is not None:
            log.info("command from the command line: %s%s", line.partition(" ")[0], note)
            self._reply(client, "ok" + note)  # delivered: the app acts on it now
            self.command_received.emit(line)
        else:
            self._reply(client, f"error unknown command {line[:40]!r}")

    @staticmethod
    def _reply(client: QLocalSocket, text: str) -> None:
        client.write((text + "\n").encode("utf-8"))
        client.flush()
        client.disconnectFromServer()
