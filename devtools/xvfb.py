"""A private Xvfb for the tests (tests/fixtures/xvfb.py) and the hotkey bench (bench/bench_hotkey.py).

Not app code (not packaged, imports nothing of the app, no pytest): start_xvfb starts Xvfb on a free display
(Xvfb picks the number itself via -displayfd, so parallel runs never collide) and XServer.env() is the
environment for a child process that should run on it (Qt on xcb, no Wayland). A missing Xvfb, or one that
does not start, raises XvfbUnavailable; each caller turns that into its own way of stopping.
"""
from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from dataclasses import dataclass


class XvfbUnavailable(RuntimeError):
    """Xvfb cannot be used: not installed, or it did not start."""


class XvfbNotInstalled(XvfbUnavailable):
    """There is no Xvfb on PATH."""


@dataclass
class XServer:
    display: str
    width: int
    height: int
    process: subprocess.Popen
    stop_timeout: float = 5.0  # seconds between SIGTERM and SIGKILL in stop()

    def env(self, **extra: str) -> dict[str, str]:
        """An environment for a child process that should run on this X server."""
        env = dict(os.environ)
        env.pop("WAYLAND_DISPLAY", None)
        env.update(DISPLAY=self.display, QT_QPA_PLATFORM="xcb", XDG_SESSION_TYPE="x11")
        env.update(extra)
        return env

    def stop(self) -> None:
        stop_xvfb(self)


def start_xvfb(width: int, height: int, timeout: float = 30.0, stop_timeout: float = 5.0) -> XServer:
    """Start Xvfb (width x height x 24) on a free display number and wait until it accepts connections."""
    binary = shutil.which("Xvfb")
    if not binary:
        raise XvfbNotInstalled("Xvfb is not installed (apt-get install xvfb).")
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        [binary, "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp",
         "+extension", "RECORD", "-noreset"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    number = b""
    deadline = time.monotonic() + timeout
    try:
        while not number.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or process.poll() is not None:
                process.kill()
                raise XvfbUnavailable("Xvfb did not start")
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if ready:
                chunk = os.read(read_fd, 16)
                if not chunk:
                    break
                number += chunk
    finally:
        os.close(read_fd)
    return XServer(display=f":{int(number.strip())}", width=width, height=height, process=process,
                   stop_timeout=stop_timeout)


def stop_xvfb(server: XServer) -> None:
    """SIGTERM, then SIGKILL if Xvfb has not gone within server.stop_timeout seconds."""
    process = server.process
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=server.stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
