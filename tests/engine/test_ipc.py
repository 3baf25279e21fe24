"""The single-instance client without Qt: it reaches whatever listens on the app's socket path, says when
nobody does, and the command line that uses it never imports Qt."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from describe_aloud.engine import ipc

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="the Unix socket half of the client")


class FakeApp:
    """A plain AF_UNIX server on the app's socket path: reads one line, answers `reply`."""

    def __init__(self, reply: bytes) -> None:
        self.received: list[bytes] = []
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(ipc.socket_address())
        self._server.listen(1)
        self._thread = threading.Thread(target=self._serve, args=(reply,), daemon=True)
        self._thread.start()

    def _serve(self, reply: bytes) -> None:
        connection, _ = self._server.accept()
        with connection:
            data = b""
            while b"\n" not in data:
                data += connection.recv(64)
            self.received.append(data)
            connection.sendall(reply)

    def close(self) -> None:
        self._thread.join(5)
        self._server.close()
        os.unlink(ipc.socket_address())


def test_a_command_reaches_the_socket_path_and_its_acknowledgement_counts():
    app = FakeApp(b"ok\n")
    try:
        assert ipc.send_command("describe_window", timeout_ms=3000) is True
    finally:
        app.close()
    assert app.received == [b"describe_window\n"]


def test_a_refusal_or_no_app_is_false_and_an_unknown_command_is_an_error():
    app = FakeApp(b"error unknown command\n")
    try:
        assert ipc.send_command("repeat", timeout_ms=3000) is False
    finally:
        app.close()
    assert ipc.send_command("repeat", timeout_ms=300) is False  # nobody listens any more
    with pytest.raises(ValueError):
        ipc.send_command("format_disk")


def test_the_socket_folder_decides_where_socket_and_lock_live(monkeypatch, tmp_path):
    private = tmp_path / "private"
    monkeypatch.setattr(ipc, "socket_folder", lambda: private)
    assert Path(ipc.socket_address()).parent == private
    assert Path(ipc.lock_path()).parent == private
    assert ipc.pipe_path() == "\\\\.\\pipe\\" + ipc.server_name()


def test_the_command_line_delivers_without_importing_qt():
    code = (
        "import sys\n"
        "from describe_aloud.cli.screen_cmd import _deliver\n"
        "assert _deliver('describe_screen', 0.2) is False\n"
        "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'describe_aloud.gui'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
