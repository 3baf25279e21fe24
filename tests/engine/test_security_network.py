"""Nothing leaves the machine: the app's OCR runs for more than 40 s under an independent observer
(`strace -f`, which sees the C++ threads a Python socket patch cannot) and makes no connection beyond
loopback, and no telemetry device id is written (issue 18)."""
from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

# The engine as the app uses it: its OCR loaded and reading, then the process stays up past onnxruntime's
# telemetry retries (about 5, 13 and 35 s after start). A UDP "connect" to loopback first, so the test
# also proves the observer sees connections made by this process.
APP_SCRIPT = r"""
import socket, sys, time
from PIL import Image, ImageDraw
probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); probe.connect(("127.0.0.1", 9)); probe.close()
from describe_aloud.engine.ocr import OcrEngine
image = Image.new("RGB", (420, 90), "white")
ImageDraw.Draw(image).text((10, 20), "Nothing is sent", fill="black", font_size=32)
engine = OcrEngine()
print("read:", " ".join(line.text for line in engine.read(image)), flush=True)
time.sleep(float(sys.argv[1]))
print("read again:", " ".join(line.text for line in engine.read(image)), flush=True)
"""

# The same OCR without the app's engine package around it: what onnxruntime does when nobody switches
# its telemetry off. Only used to show that the observer would catch it.
BARE_SCRIPT = r"""
import sys, time
import numpy as np
from rapidocr import RapidOCR
ocr = RapidOCR(params={"Global.log_level": "error"})
ocr(np.full((90, 420, 3), 255, dtype=np.uint8))
time.sleep(float(sys.argv[1]))
"""

CONNECT = re.compile(r"connect\(\d+, \{sa_family=(AF_INET6?), (?:sin6?_port=htons\((\d+)\), )?"
                     r"(?:inet_pton\(AF_INET6, \"([^\"]+)\"|sin6?_addr=inet_addr\(\"([^\"]+)\"\))")


def observed(script: str, seconds: float, home: Path, trace: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    for name in ("ORT_DISABLE_TELEMETRY", "DO_NOT_TRACK"):
        env.pop(name, None)  # the app must switch it off itself
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), OMP_NUM_THREADS="1")
    return subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(trace), sys.executable, "-c", script, str(seconds)],
        capture_output=True, text=True, timeout=seconds + 240, env=env,
    )


def remote_connections(trace: Path) -> list[str]:
    found = []
    for line in trace.read_text(errors="replace").splitlines():
        match = CONNECT.search(line)
        if not match:
            continue  # AF_UNIX (local sockets), AF_NETLINK...
        address = match.group(3) or match.group(4)
        if not ipaddress.ip_address(address).is_loopback:
            found.append(line.strip())
    return found


def loopback_connections(trace: Path) -> int:
    return sum(1 for line in trace.read_text(errors="replace").splitlines() if '"127.0.0.1"' in line)


def device_ids(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file() and (p.name == "deviceid" or "onnxruntime" in str(p).lower())]


@pytest.mark.slow
def test_ocr_running_for_40_seconds_connects_nowhere_and_writes_no_device_id(tmp_path):
    if shutil.which("strace") is None:
        pytest.fail("strace is missing: devtools/setup.sh test installs it (TEST_PACKAGES)")
    seconds = 42
    app_home, bare_home = tmp_path / "app-home", tmp_path / "bare-home"
    app_home.mkdir()
    bare_home.mkdir()
    app_trace, bare_trace = tmp_path / "app.strace", tmp_path / "bare.strace"
    # Both at once: one 42 s wait for the two runs.
    bare: list[subprocess.CompletedProcess] = []
    control = threading.Thread(target=lambda: bare.append(observed(BARE_SCRIPT, seconds, bare_home, bare_trace)))
    control.start()
    app = observed(APP_SCRIPT, seconds, app_home, app_trace)
    control.join()

    assert app.returncode == 0, app.stderr[-3000:]
    assert "read: Nothing is sent" in app.stdout and "read again: Nothing is sent" in app.stdout
    assert loopback_connections(app_trace) >= 1, "the observer did not see the process's own loopback probe"
    assert remote_connections(app_trace) == []
    assert device_ids(app_home) == []
    # The observer is sensitive: onnxruntime left alone tries to reach its telemetry host (or at least
    # writes its device id). If a future onnxruntime has no telemetry at all, this part says so.
    bare_attempts = remote_connections(bare_trace)
    assert bare[0].returncode == 0, bare[0].stderr[-3000:]
    if not bare_attempts and not device_ids(bare_home):
        pytest.xfail("this onnxruntime build has no telemetry to catch; the app run above was still clean")
    print(f"left alone, onnxruntime made {len(bare_attempts)} connection attempts and wrote "
          f"{len(device_ids(bare_home))} telemetry files; with the app: 0 and 0")
