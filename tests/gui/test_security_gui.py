"""A FIFO copied as a file on the clipboard (issue 18): before, the describe worker blocked reading it for
good (later hotkeys did nothing, quit and SIGTERM did not exit). Now the worker says what it is, goes on,
and stops cleanly."""
from __future__ import annotations

import os

from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QGuiApplication

from describe_aloud.gui.image_input import clipboard_content
from describe_aloud.gui.worker import DescribeJob, DescribeWorker
from tests.fixtures.images import photo_image

TIMEOUT_MS = 180_000


def test_a_fifo_on_the_clipboard_is_refused_and_the_worker_keeps_working(qtbot, tiny_git_dir, tmp_path):
    fifo = tmp_path / "copied.jpg"
    os.mkfifo(fifo)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(fifo))])
    QGuiApplication.clipboard().setMimeData(mime)
    content = clipboard_content()
    assert content.paths == [str(fifo)]

    worker = DescribeWorker(str(tiny_git_dir))
    try:
        with qtbot.waitSignal(worker.model_ready, timeout=TIMEOUT_MS):
            worker.start()
        errors: list[str] = []
        worker.job_error.connect(lambda job, message: errors.append(message))
        with qtbot.waitSignals([worker.job_error, worker.job_finished], timeout=30_000):
            worker.submit(DescribeJob(source="clipboard", path=content.paths[0]))
        assert "copied.jpg is a pipe (FIFO), not an image file" in errors[0]
        # The next request (a hotkey, a paste) is still answered.
        with qtbot.waitSignal(worker.job_result, timeout=TIMEOUT_MS) as got:
            worker.submit(DescribeJob(source="photo", image=photo_image()))
        assert got.args[0].description.caption
    finally:
        assert worker.stop_and_wait(60_000), "the worker did not stop"


def _raw_exchange(address: str, payload: bytes, wait_s: float = 5.0) -> bytes:
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(wait_s)
        sock.connect(address)
        if payload:
            sock.sendall(payload)
        reply = b""
        while b"\n" not in reply:
            chunk = sock.recv(256)
            if not chunk:
                break
            reply += chunk
        return reply


def test_the_socket_answers_extra_commands_and_drops_idle_connections(qtbot):
    from concurrent.futures import ThreadPoolExecutor

    from describe_aloud.engine.ipc import socket_address
    from describe_aloud.gui.single_instance import IDLE_MS, InstanceServer

    server = InstanceServer()
    assert server.start()
    received: list[str] = []
    server.command_received.connect(received.append)
    try:
        with ThreadPoolExecutor(2) as pool:
            two = pool.submit(_raw_exchange, socket_address(), b"repeat\nquit\n")
            idle = pool.submit(_raw_exchange, socket_address(), b"", IDLE_MS / 1000 + 5)
            qtbot.waitUntil(lambda: two.done() and idle.done(), timeout=IDLE_MS + 8000)
        assert two.result() == b"ok (ignored 1 more: one command per connection)\n"
        assert received == ["repeat"]  # "quit" was not acted on, and the sender was told
        assert idle.result() == b"error timed out waiting for a command\n"
        # A line over the limit is refused whether its newline comes with it or later.
        with ThreadPoolExecutor(2) as pool:
            whole = pool.submit(_raw_exchange, socket_address(), b"ask " + b"x" * 100_000 + b"\n")
            qtbot.waitUntil(whole.done, timeout=10_000)
        assert whole.result() == b"error command too long\n" and received == ["repeat"]
    finally:
        server.close()


def test_labels_that_show_file_names_show_them_as_written_never_as_markup(qtbot):
    """A file named like HTML (a huge image tag, white text) must be shown as the name it is: read by
    sighted helpers, and the same words a screen reader says."""
    from describe_aloud.gui.ask_dialog import AskDialog
    from describe_aloud.gui.main_window import MainWindow

    name = "Asking about: <img src=x width=2000 height=2000><font color=#fff>cat</font>.png"
    window = MainWindow()
    qtbot.addWidget(window)
    window.set_status(name, spoken=True)
    dialog = AskDialog(window)
    qtbot.addWidget(dialog)
    dialog.about_label.setText(name)
    for label in (window.status_label, dialog.about_label):
        assert label.text() == name
        assert label.sizeHint().height() < 400  # a 2000-pixel image would make it huge
