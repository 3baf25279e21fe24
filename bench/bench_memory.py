"""Resident memory of what the app's worker loads, step by step, with and without the memory savings.

Each row runs in a fresh interpreter (what the app's process does before and after "Ready"): import torch,
transformers, the engine; load the default captioner (GIT-base at full size, random weights, bf16 packed
where that is faster: the production load path); its warm-up; the text reader's warm-up and a screen-sized
read; three descriptions of the bench's screen; the app's idle trim. VmRSS (and its anonymous part) after
each step, in MB.

"before": DESCRIBE_ALOUD_MEMORY_TRIM=0, the text reader warmed up on the 160x48 sample it used before
(rapidocr scales it to 2453x736; engine/ocr.py now warms up on a 16:9 sample), and GIT loaded with
transformers (DESCRIBE_ALOUD_LEAN_GIT=0, transformers imported first). "after": the app as it is (the lean
GIT captioner: transformers is never imported).
The two are run in turns (before, after, before, after, ...); the caption and the text read must be the same
in every run, or the row says so.

    .venv/bin/python bench/bench_memory.py [--model FOLDER] [--rounds 2]

bench/bench_hotkey.py runs this too (its "Memory" section) next to the real app's VmRSS.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _machine import cpu_line, load_average

REPO = Path(__file__).resolve().parents[1]

# Run in a fresh interpreter: argv = model folder, "before" | "after". Prints one JSON line.
_STAGES = r"""
import json, os, sys, time
sys.path.insert(0, "bench")
out, stages = {}, []
def rss():
    got = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "VmHWM"):
            got[key] = int(value.split()[0]) / 1024
    return got
def step(name):
    stages.append([name, rss()])
step("python")
import torch; step("import torch")
if sys.argv[2] == "before":  # the app imported transformers for its captioner; the lean GIT path does not
    from transformers import AutoModelForImageTextToText, AutoProcessor
step("import transformers (before only)")
from describe_aloud.engine import Describer, load_captioner
from describe_aloud.engine.memory_release import release_freed_memory, release_idle_memory
from describe_aloud.engine.ocr import OcrEngine
step("import engine")
before = sys.argv[2] == "before"
captioner = load_captioner(sys.argv[1], precision="auto", device="auto", local_files_only=True)
step("load captioner")
captioner.warm_up(); step("captioner warm-up")
ocr = OcrEngine()
if before:  # the warm-up as it was: a 160x48 sample (see the docstring)
    import numpy as np
    from PIL import Image, ImageDraw
    sample = Image.new("RGB", (160, 48), "white")
    ImageDraw.Draw(sample).text((8, 8), "Ready", fill="black", font_size=24)
    ocr._engine()(np.asarray(sample)[:, :, ::-1]); ocr._warm = True
describer = Describer(captioner, ocr=ocr)
describer.warm_up(); ocr.warm_up_for_size((1280, 720)); release_freed_memory()
step("text reader warm-up")
from bench_captioners import screen_image
image = screen_image()
for _ in range(3):
    d = describer.describe(image)
step("3 descriptions")
release_idle_memory([ocr]); step("idle (the worker's trim)")
print(json.dumps({"stages": stages, "caption": d.caption, "text": [l.text for l in d.text_lines],
                  "packed": captioner.packed_linear_layers, "precision": captioner.precision}))
"""


# Run in a fresh interpreter: what the first read after a quiet spell costs with the idle trim as it was
# (malloc_trim only) and as it is (OpenVINO's buffers released first), in turns, on the app's text reader.
_QUIET = r"""
import json, statistics, sys, time
sys.path.insert(0, "bench")
import torch  # the app's process has it: the same libraries and allocator state around the reader
from describe_aloud.engine.memory_release import release_freed_memory, release_idle_memory
from describe_aloud.engine.ocr import OcrEngine
from bench_captioners import screen_image
def rss():
    return next(int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmRSS"))
ocr = OcrEngine(); ocr.warm_up(); ocr.warm_up_for_size((1280, 720))
image = screen_image()
reference = [l.text for l in ocr.read(image)]
trims = {"trim only": release_freed_memory, "release + trim": lambda: release_idle_memory([ocr])}
got = {name: {"busy": [], "first": [], "rss": []} for name in trims}
same = True
for _ in range(int(sys.argv[1])):
    for name, trim in trims.items():
        for _ in range(2):
            ocr.read(image)
        t = time.perf_counter(); ocr.read(image); got[name]["busy"].append(time.perf_counter() - t)
        trim(); got[name]["rss"].append(rss())
        time.sleep(0.5)
        t = time.perf_counter(); lines = ocr.read(image); got[name]["first"].append(time.perf_counter() - t)
        same = same and [l.text for l in lines] == reference
print(json.dumps({"engine": ocr.engine_name, "same": same,
                  "medians": {n: {k: statistics.median(v) for k, v in g.items()} for n, g in got.items()}}))
"""


def quiet_spell_cost(rounds: int = 6, log=print) -> dict:
    """The first read after the idle trim, as it was and as it is (one process, in turns); prints a table."""
    log(f"== The text reader after a quiet spell ({rounds} turns each, one process; {load_average()}) ==")
    env = {**os.environ, "DESCRIBE_ALOUD_MEMORY_TRIM": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", _QUIET, str(rounds)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)
    try:
        got = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"the quiet-spell run failed:\n{done.stderr[-3000:]}") from None
    log(f"  {'idle trim':<16} {'VmRSS after':>11} {'read between requests':>22} {'first read after':>17}  (s, p50)")
    for name, m in got["medians"].items():
        log(f"  {name:<16} {m['rss']:9.0f} MB {m['busy']:22.3f} {m['first']:17.3f}")
    log(f"  engine {got['engine']}; the same text read every time: {'yes' if got['same'] else 'NO'}; "
        f"at end: {load_average()}")
    return got


def run_stages(model_dir: Path, variant: str) -> dict:
    env = {**os.environ, "DESCRIBE_ALOUD_MEMORY_TRIM": "0" if variant == "before" else "1",
           "DESCRIBE_ALOUD_LEAN_GIT": "0" if variant == "before" else "1",
           "PYTHONPATH": str(REPO), "TRANSFORMERS_VERBOSITY": "error", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", _STAGES, str(model_dir), variant], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"the {variant} run failed:\n{done.stderr[-3000:]}") from None


def compare(model_dir: Path, rounds: int = 2, log=print) -> dict[str, dict[str, float]]:
    """Run before/after in turns `rounds` times; print the table; return the median VmRSS per stage."""
    log(f"== Memory by step, fresh interpreter each (MB; median of {rounds}; {cpu_line()}; {load_average()}) ==")
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for _ in range(rounds):
        for variant in ("before", "after"):
            runs[variant].append(run_stages(model_dir, variant))
    results = [r for rs in runs.values() for r in rs]
    same = all(r["caption"] == results[0]["caption"] and r["text"] == results[0]["text"] for r in results)
    medians: dict[str, dict[str, float]] = {}
    for variant, rs in runs.items():
        names = [name for name, _ in rs[0]["stages"]]
        medians[variant] = {n: statistics.median(dict((k, v["VmRSS"]) for k, v in r["stages"])[n] for r in rs)
                            for n in names}
        medians[variant]["anon"] = statistics.median(r["stages"][-1][1]["RssAnon"] for r in rs)
        medians[variant]["peak"] = statistics.median(r["stages"][-1][1]["VmHWM"] for r in rs)
    log(f"  {'step':<26} {'before':>8} {'after':>8} {'after-before':>13}   (VmRSS; the step's own cost in brackets)")
    previous = {"before": 0.0, "after": 0.0}
    for name in medians["after"]:
        if name in ("anon", "peak"):
            continue
        b, a = medians["before"].get(name, float("nan")), medians["after"][name]
        log(f"  {name:<26} {b:8.0f} {a:8.0f} {a - b:+13.0f}   (+{b - previous['before']:.0f} / +{a - previous['after']:.0f})")
        previous = {"before": b, "after": a}
    log(f"  anonymous part at the end  {medians['before']['anon']:8.0f} {medians['after']['anon']:8.0f}; "
        f"peak (VmHWM) {medians['before']['peak']:.0f} / {medians['after']['peak']:.0f}")
    first = results[0]
    log(f"  captioner {first['precision']}, {first['packed']} Linear layers packed; caption and text read the "
        f"same in all {len(results)} runs: {'yes' if same else 'NO'}")
    log(f"  at end: {load_average()}")
    return medians


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a GIT-base folder (default: built here, full size)")
    parser.add_argument("--rounds", type=int, default=2, help="before/after pairs (default 2)")
    parser.add_argument("--quiet-rounds", type=int, default=6,
                        help="turns of the quiet-spell read (trim only / release + trim; 0: skip)")
    args = parser.parse_args(argv)
    print(f"bench_memory: {cpu_line()}; python {platform.python_version()}; at start: {load_average()}")
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        model_dir = args.model
        if model_dir is None:
            sys.path.insert(0, str(REPO / "bench"))
            from bench_hotkey import build_default_captioner

            model_dir = Path(tmp) / "git-base"
            build_default_captioner(model_dir, 20)
        compare(model_dir, max(1, args.rounds))
    if args.quiet_rounds > 0:
        quiet_spell_cost(args.quiet_rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
