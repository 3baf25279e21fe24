"""The screen commands while an app is running (a plain socket server stands in for it): a bare command is
handed to the app; an option only this process can honour (--json, --save-image...) makes the command do the
work itself and say why, instead of being dropped silently."""
from __future__ import annotations

import json
import os
import socket
import sys
import threading

import pytest
from PIL import Image

from describe_aloud.cli import main
from describe_aloud.engine import ipc

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="the Unix socket half of the client")


class RunningApp:
    """Listens on the app's socket path and acknowledges every command, as the app does."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        os.makedirs(os.path.dirname(ipc.socket_address()), exist_ok=True)
        self._server.bind(ipc.socket_address())
        self._server.listen(4)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return  # closed
            with connection:
                data = b""
                while b"\n" not in data:
                    chunk = connection.recv(64)
                    if not chunk:
                        break
                    data += chunk
                self.received.append(data.decode().strip())
                connection.sendall(b"ok\n")

    def close(self) -> None:
        self._server.close()
        os.unlink(ipc.socket_address())


@pytest.fixture
def running_app():
    app = RunningApp()
    yield app
    app.close()


def test_a_bare_command_goes_to_the_running_app(capsys, running_app):
    assert main.main(["describe-window"]) == 0
    assert "Sent to the running Describe Aloud app." in capsys.readouterr().out
    assert running_app.received == ["describe_window"]


@pytest.mark.xvfb
@pytest.mark.timeout(300)
def test_json_and_save_image_are_honoured_here_not_dropped(capsys, xvfb, show_picture, running_app, tiny_git_dir,
                                                           tmp_path):
    Image.new("RGB", (400, 300), (255, 255, 255)).save(tmp_path / "white.png")
    show_picture(tmp_path / "white.png", x=50, y=50)
    shot = tmp_path / "cap.png"
    code = main.main(["describe-screen", "--json", "--no-ocr", "--save-image", str(shot),
                      "--model", str(tiny_git_dir)])
    out, err = capsys.readouterr()
    assert code == 0, err
    record = json.loads(out.strip().splitlines()[-1])
    assert record["path"] == "screen" and record["error"] is None and record["caption"]
    saved = Image.open(shot)
    assert saved.size == (xvfb.width, xvfb.height) and saved.getpixel((100, 100)) == (255, 255, 255)
    assert "cannot take --json, --save-image, --no-ocr, --model" in err
    assert "describe_screen" not in running_app.received  # asked whether it runs, never handed the work
