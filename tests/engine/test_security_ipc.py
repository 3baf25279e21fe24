"""The single-instance socket in a shared temp folder (no XDG_RUNTIME_DIR): another local user who gets
there first must receive nothing from us (issue 18). The other user is real: a child process that drops
to uid 65534 (nobody), so these tests run where the suite runs as root (CI, this machine)."""
from __future__ import annotations

import os
import socket
import stat
import sys
import time
from pathlib import Path

import pytest

from describe_aloud.engine import ipc

NOBODY = 65534
pytestmark = [
    pytest.mark.skipif(sys.platform.startswith("win"), reason="Unix sockets and uids"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as a second user (uid 65534)"),
]


@pytest.fixture
def world_tmp():
    """A sticky world-writable folder like /tmp that the other user can reach (pytest's are 0700)."""
    import shutil
    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="da-shared-", dir="/tmp"))
    shared.chmod(0o1777)
    yield shared
    shutil.rmtree(shared, ignore_errors=True)


@pytest.fixture
def shared_tmp(world_tmp, monkeypatch):
    """TMPDIR is a shared sticky folder, and there is no XDG_RUNTIME_DIR."""
    shared = world_tmp
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(shared))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    return shared


def as_other_user(work) -> int:
    """Fork; the child becomes uid 65534, runs `work()` and exits. Returns the child's pid."""
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            work()
        finally:
            os._exit(0)
    return pid


def squatter_server(address: str, received: Path) -> None:
    """The other user's fake app: records what it receives, answers ok."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(address)
    os.chmod(address, 0o777)
    server.listen(4)
    server.settimeout(20)
    try:
        connection, _ = server.accept()
        with connection:
            connection.settimeout(3)
            try:
                data = connection.recv(256)
            except OSError:
                data = b""
            with open(received, "ab") as fh:
                fh.write(data or b"<connected, nothing sent>")
            connection.sendall(b"ok\n")
    except OSError:
        pass


def test_the_socket_folder_is_private_to_the_user(shared_tmp):
    folder = ipc.socket_folder()
    st = os.lstat(folder)
    assert folder.parent == shared_tmp and st.st_uid == os.getuid()
    assert stat.S_IMODE(st.st_mode) == 0o700
    assert Path(ipc.socket_address()).parent == folder


def test_a_folder_another_user_made_first_is_not_used_and_gets_nothing(shared_tmp):
    squat = shared_tmp / f"describe-aloud-{os.getuid()}"
    received = shared_tmp / "received"
    received.touch()
    received.chmod(0o666)

    def squat_and_listen() -> None:
        squat.mkdir(mode=0o777)
        os.chmod(squat, 0o777)
        squatter_server(str(squat / f"{ipc.server_name()}.sock"), received)

    pid = as_other_user(squat_and_listen)
    try:
        deadline = time.monotonic() + 10
        while not list(squat.glob("*.sock")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(squat.glob("*.sock")), "the other user's server did not start"
        folder = ipc.socket_folder()
        assert folder != squat and os.lstat(folder).st_uid == os.getuid()
        assert ipc.send_command("ping", timeout_ms=1000) is False  # nobody of ours is running
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    assert received.read_bytes() == b""


def test_a_server_run_by_another_user_receives_no_command(world_tmp):
    # Even when the path is reached (an old layout, a folder mix-up), the kernel tells who serves it.
    address = str(world_tmp / "app.sock")
    received = world_tmp / "received"
    received.touch()
    received.chmod(0o666)
    pid = as_other_user(lambda: squatter_server(address, received))
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(address) and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(ipc.UnsafeFolder, match="another user"):
            ipc._exchange_unix(b"quit\n", 2000, address)
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    assert b"quit" not in received.read_bytes()
