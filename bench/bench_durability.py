"""Durability under `kill -9`: a batch with --write-metadata and --out is killed at random moments, run
again each time, and finally run to the end. Then every image is checked:

- its pixels are bit-identical to before (metadata writes are atomic: temp file, fsync, rename);
- it holds the alt text (exiftool reads it back independently when installed);
- the results file has every image exactly once, and no temp file is left behind.

It also throws the hostile inputs of issue 18 into the same folder (a FIFO, /dev/zero behind an image name,
a 10000x8 strip, a non-UTF-8 name, a name with terminal escapes, a formula-like name) and counts crashes.

    .venv/bin/python bench/bench_durability.py                  # 60 images, up to 12 kills
    .venv/bin/python bench/bench_durability.py --images 20 --kills 4

Prints the CPU, the figures, and exits 1 if anything was lost. The model is a tiny random-weight GIT built
here (tests/fixtures/tiny_models.py), loaded through the production path: speed is not the point.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from _machine import cpu_line  # noqa: E402


def pixels_digest(path: Path) -> str:
    with Image.open(path) as im:
        return hashlib.sha256(im.convert("RGB").tobytes()).hexdigest()


def done_rows(folder: Path) -> int:
    import sqlite3

    journal = folder / ".describe-aloud-journal.sqlite"
    if not journal.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM entries WHERE status = 'done'").fetchone()[0]
    except sqlite3.Error:
        return 0


def make_folder(folder: Path, count: int) -> dict[str, str]:
    from tests.fixtures.photo_folder import noise_image

    folder.mkdir(parents=True)
    digests = {}
    for i in range(count):
        name = f"photo{i:03d}.{'jpg' if i % 2 else 'png'}"
        noise_image(i, (96, 72)).save(folder / name)
        digests[name] = pixels_digest(folder / name)
    return digests


def add_hostile(folder: Path) -> int:
    os.mkfifo(folder / "pipe.jpg")
    (folder / "zero.png").symlink_to("/dev/zero")
    Image.new("RGB", (10000, 8), "white").save(folder / "separator.png")
    from tests.fixtures.photo_folder import noise_image

    for i, raw in enumerate((b"caf\xe9.png", b"\x1b[2Jred.png", b"=HYPERLINK(1).png")):
        noise_image(500 + i, (64, 48)).save(os.fsdecode(os.path.join(os.fsencode(folder), raw)), "PNG")
    return 6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--ocr", action="store_true", help="read text too (slower: more time per image)")
    parser.add_argument("--wait", type=float, default=600.0,
                        help="longest wait for a run's first new row before killing it anyway (s)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="durability-"))
    try:
        from tests.fixtures.tiny_models import build_tiny_git

        model = build_tiny_git(work / "tiny-git")
        folder = work / "photos"
        digests = make_folder(folder, args.images)
        hostile = add_hostile(folder)
        out = work / "alt.csv"
        env = dict(os.environ, OMP_NUM_THREADS="1", DESCRIBE_ALOUD_CONFIG_DIR=str(work / "config"),
                   DESCRIBE_ALOUD_DATA_DIR=str(work / "data"), HF_HUB_OFFLINE="1")
        cmd = [sys.executable, str(ROOT / "main.py"), "batch", str(folder), "--model", str(model), "--out", str(out),
               "--write-metadata", "--batch-size", "1", "--no-progress", *([] if args.ocr else ["--no-ocr"])]
        print(f"CPU: {cpu_line()}; Python {platform.python_version()}")
        kills = crashes = 0
        for _ in range(args.kills):
            before = done_rows(folder)
            if before >= len(digests):
                break  # everything is done: nothing left to interrupt
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            # Kill while it works (not while the model loads): once a new row is durable, at a random moment
            # in the next 2.5 s, which lands between images, in a journal commit or in a metadata write.
            deadline = time.monotonic() + args.wait
            while proc.poll() is None and done_rows(folder) <= before and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 2.5))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            _, err = proc.communicate()
            if b"Traceback" in err:
                crashes += 1
        final = subprocess.run(cmd, env=env, capture_output=True, timeout=1800)
        crashes += b"Traceback" in final.stderr or final.returncode not in (0, 1)
        rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines(keepends=True)))
        described = [r for r in rows if r["status"] == "described"]
        names = [r["path"] for r in described]
        changed = [n for n, d in digests.items() if pixels_digest(folder / n) != d]
        leftovers = [p.name for p in folder.iterdir() if p.name.endswith(".describe-aloud-tmp")]
        with_alt = 0
        if shutil.which("exiftool"):
            listing = subprocess.run(["exiftool", "-q", "-s3", "-AltTextAccessibility", *[str(folder / n) for n in digests]],
                                     capture_output=True, text=True).stdout
            with_alt = sum(1 for line in listing.splitlines() if line.strip())
        lost = (len(set(names) & set(digests)) != len(digests)) or len(names) != len(set(names)) or changed or leftovers
        print(f"kill -9 during the run: {kills} (plus the final run to the end)")
        print(f"images: {len(digests)}; described once each: {len(set(names) & set(digests))}; duplicate rows: "
              f"{len(names) - len(set(names))}; pixels changed: {len(changed)}; temp files left: {len(leftovers)}")
        print(f"alt text read back by exiftool: {with_alt} of {len(digests)}" if shutil.which("exiftool")
              else "exiftool not installed: alt text not read back independently")
        print(f"hostile inputs in the same folder: {hostile}; crashes (tracebacks or bad exit codes): {crashes}")
        print("nothing lost" if not lost else "SOMETHING WAS LOST")
        return 1 if (lost or crashes) else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
