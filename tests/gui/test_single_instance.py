"""Single instance: one server per user config, commands delivered and acknowledged, crashed leftovers recovered."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from describe_aloud.engine.ipc import send_command, server_name, socket_address
from describe_aloud.gui.single_instance import InstanceServer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _send_in_thread(qtbot, command: str, timeout_ms: int = 3000) -> bool:
    """Call send_command off the GUI thread while the Qt loop runs, so the server can answer."""
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(send_command, command, timeout_ms)
        qtbot.waitUntil(future.done, timeout=timeout_ms + 2000)
        return future.result()


@pytest.fixture
def server(qtbot):
    instance = InstanceServer()
    assert instance.start()
    yield instance
    instance.close()


def test_name_is_per_user_and_per_config_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("DESCRIBE_ALOUD_CONFIG_DIR", str(tmp_path / "a"))
    name_a, address_a = server_name(), socket_address()
    monkeypatch.setenv("DESCRIBE_ALOUD_CONFIG_DIR", str(tmp_path / "b"))
    assert server_name() != name_a and socket_address() != address_a
    assert str(os.getuid()) in server_name()
    assert os.path.isabs(socket_address()) and socket_address().endswith(".sock")


def test_command_is_delivered_and_acknowledged(qtbot, server):
    received = []
    server.command_received.connect(received.append)
    assert _send_in_thread(qtbot, "describe_screen") is True
    qtbot.waitUntil(lambda: received == ["describe_screen"], timeout=2000)
    assert _send_in_thread(qtbot, "stop_speech") is True
    qtbot.waitUntil(lambda: received == ["describe_screen", "stop_speech"], timeout=2000)
    # Only the owner may connect.
    assert os.stat(socket_address()).st_mode & 0o077 == 0


def test_ping_is_answered_but_not_forwarded(qtbot, server):
    received = []
    server.command_received.connect(received.append)
    assert _send_in_thread(qtbot, "ping") is True
    qtbot.wait(100)
    assert received == []


def test_unknown_command_is_refused_by_client_and_by_server(qtbot, server):
    with pytest.raises(ValueError):
        send_command("format_disk")
    import socket as pysocket

    received = []
    server.command_received.connect(received.append)

    def raw():
        with pysocket.socket(pysocket.AF_UNIX) as sock:
            sock.settimeout(3)
            sock.connect(socket_address())
            sock.sendall(b"format_disk\n")
            return sock.recv(200).decode()

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(raw)
        qtbot.waitUntil(future.done, timeout=5000)
    assert future.result().startswith("error unknown command")
    assert received == []


def test_second_server_does_not_start_while_the_first_runs(qtbot, server):
    second = InstanceServer()
    try:
        assert second.start() is False
        assert server.is_listening()
    finally:
        second.close()
    # The first still answers.
    assert _send_in_thread(qtbot, "show") is True


def test_no_app_running_means_false_quickly():
    assert send_command("describe_screen", timeout_ms=500) is False


def test_after_close_a_new_server_can_start(qtbot):
    first = InstanceServer()
    assert first.start()
    first.close()
    assert not os.path.exists(socket_address())
    second = InstanceServer()
    try:
        assert second.start()
        assert _send_in_thread(qtbot, "repeat") is True
    finally:
        second.close()


_CRASHING_APP = r"""
import os, sys
from PySide6.QtCore import QCoreApplication
from describe_aloud.gui.single_instance import InstanceServer
app = QCoreApplication([])
server = InstanceServer()
print("started" if server.start() else "refused", flush=True)
app.exec()
"""


def test_stale_socket_of_a_crashed_app_is_recovered(qtbot):
    # A real app process starts the server, then is killed: its socket and lock files stay behind.
    env = dict(os.environ, PYTHONPATH=REPO)
    crashed = subprocess.Popen([sys.executable, "-c", _CRASHING_APP], env=env, stdout=subprocess.PIPE, text=True,
                               cwd=REPO)
    try:
        assert crashed.stdout.readline().strip() == "started"
        # While it lives, we are the second instance.
        blocked = InstanceServer()
        assert blocked.start() is False
        blocked.close()
    finally:
        crashed.send_signal(signal.SIGKILL)
        crashed.wait(10)
    assert os.path.exists(socket_address())  # the leftover
    assert send_command("ping", timeout_ms=500) is False  # nobody answers on it

    recovered = InstanceServer()
    try:
        assert recovered.start() is True
        received = []
        recovered.command_received.connect(received.append)
        assert _send_in_thread(qtbot, "describe_window") is True
        qtbot.waitUntil(lambda: received == ["describe_window"], timeout=2000)
    finally:
        recovered.close()


def test_many_clients_at_once_are_all_acknowledged(qtbot, server):
    received = []
    server.command_received.connect(received.append)
    results: list[bool] = []
    lock = threading.Lock()

    def send():
        ok = send_command("describe_screen", 5000)
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    qtbot.waitUntil(lambda: len(results) == 10, timeout=10000)
    for thread in threads:
        thread.join(5)
    assert results == [True] * 10
    qtbot.waitUntil(lambda: len(received) == 10, timeout=2000)
