"""OCR in a child process: the same `read` / `warm_up` as engine.ocr.OcrEngine, for the desktop app.

Why a process: loading rapidocr is about a second of Python work (imports, model tables) and its first
run builds the onnxruntime sessions. In the app's own process that work holds the interpreter lock while
the captioner's imports (torch, transformers) need it too, so the two only take turns; measured on the
2-core test machine, importing torch took 2.0 s instead of 1.2 s beside it, and Ready came 5.6 s after
start. In a child process the text reader gets ready on the other core in parallel, and the app's own
start is the captioner alone.

Cost per description: the image goes to the child as raw RGB bytes over a pipe (a 1280x720 screen is
2.7 MB, a few milliseconds) and the lines come back as one JSON line; the reading itself is the same code
(engine.ocr.OcrEngine) with the same threads.

Protocol (binary pipe, one request at a time): the child says `ready\n` once it has warmed up (or
`{"error": ...}\n` if it cannot); a request is a header `RGB8` + width + height (little-endian uint32)
followed by width*height*3 bytes; the answer is one JSON line, `{"lines": [...]}` or `{"error": "..."}`.
The child ends when its input closes (the app quit or died).

Threading: an OcrProcess is used by one thread at a time (a lock makes a second caller wait); `start` and
`close` may come from any thread.
"""
from __future__ import annotations

import json
import logging
import os
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from PIL import Image

from engine.description import TextLine
from engine.errors import UserFacingError

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
_HEADER = struct.Struct("<4sII")
_MAGIC = b"RGB8"


class OcrProcessError(UserFacingError):
    """The text reader's process failed; the message says so in words. The next read starts a new one."""


class OcrProcess:
    """Reads the text in an image in a child process (see the module docstring)."""

    def __init__(self, *, threads: int | None = None, max_side: int | None = None) -> None:
        self.threads = threads
        self.max_side = max_side
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._ready = False

    # ---------------------------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Start the child now (it loads and warms up on its own); returns at once."""
        with self._lock:
            self._start_locked()

    def warm_up(self) -> None:
        """Wait until the child has loaded its models and read once (starting it if needed)."""
        with self._lock:
            self._ready_locked()

    def close(self) -> None:
        """End the child (idempotent)."""
        with self._lock:
            self._stop_locked()

    def __enter__(self) -> "OcrProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --------------------------------------------------------------------------------------- read
    def read(self, image: Image.Image) -> list[TextLine]:
        """The text lines of `image` in reading order, boxes in the image's own pixels."""
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        with self._lock:
            self._ready_locked()
            process = self._process
            assert process is not None and process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write(_HEADER.pack(_MAGIC, rgb.width, rgb.height))
                process.stdin.write(rgb.tobytes())
                process.stdin.flush()
                answer = process.stdout.readline()
            except OSError:  # a broken pipe: the child died
                answer = b""
            if not answer:
                self._stop_locked()
                raise OcrProcessError("The text reader stopped unexpectedly; it is restarted for the next image.")
        message = json.loads(answer)
        if "error" in message:
            raise OcrProcessError(f"The text reader failed: {message['error']}")
        return [TextLine(line["text"], tuple(line["box"]), line["confidence"]) for line in message["lines"]]

    # ----------------------------------------------------------------------------------- internals
    def _start_locked(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
        try:
            self._process = subprocess.Popen(self._argv(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None,
                                             env=env, cwd=str(PROJECT_ROOT))
        except OSError as exc:
            self._process = None
            raise OcrProcessError(f"The text reader could not start ({exc}).") from exc
        self._ready = False

    def _argv(self) -> list[str]:
        argv = [sys.executable, "-m", "engine.ocr_process"]
        if self.threads:
            argv += ["--threads", str(self.threads)]
        if self.max_side:
            argv += ["--max-side", str(self.max_side)]
        return argv

    def _ready_locked(self) -> None:
        self._start_locked()
        if self._ready:
            return
        process = self._process
        assert process is not None and process.stdout is not None
        first = process.stdout.readline()
        if first == b"ready\n":
            self._ready = True
            return
        self._stop_locked()
        reason = ""
        try:
            reason = json.loads(first).get("error", "") if first else ""
        except ValueError:
            reason = first.decode("utf-8", "replace").strip()
        raise OcrProcessError("The text reader could not start" + (f": {reason}" if reason else "."))

    def _stop_locked(self) -> None:
        process, self._process, self._ready = self._process, None, False
        if process is None:
            return
        for stream in (process.stdin, process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            process.wait(timeout=3)  # its input is closed: it ends by itself
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------------------------------- the child
def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _serve(engine: Any, requests: IO[bytes], answers: IO[bytes]) -> None:
    while True:
        header = _read_exactly(requests, _HEADER.size)
        if header is None:
            return  # the app closed the pipe
        magic, width, height = _HEADER.unpack(header)
        data = _read_exactly(requests, width * height * 3) if magic == _MAGIC else None
        if data is None:
            return
        try:
            lines = engine.read(Image.frombuffer("RGB", (width, height), data, "raw", "RGB", 0, 1))
            answer = {"lines": [{"text": t.text, "box": list(t.box), "confidence": t.confidence} for t in lines]}
        except Exception as exc:  # noqa: BLE001 - reported to the app, which says it; the next image is read
            log.exception("OCR failed in the text reader process")
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        answers.write(json.dumps(answer).encode("utf-8") + b"\n")
        answers.flush()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Describe Aloud's text reader process (started by the app).")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--max-side", type=int, default=None)
    args = parser.parse_args(argv)
    # The protocol owns the real standard output; anything a library prints goes to standard error.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    requests = sys.stdin.buffer
    try:
        from engine.ocr import MAX_SIDE, OcrEngine

        engine = OcrEngine(threads=args.threads, max_side=args.max_side or MAX_SIDE)
        engine.warm_up()
    except Exception as exc:  # noqa: BLE001 - the app says why text cannot be read
        answers.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode("utf-8") + b"\n")
        answers.flush()
        return 1
    answers.write(b"ready\n")
    answers.flush()
    _serve(engine, requests, answers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
