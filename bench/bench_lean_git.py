"""The lean GIT captioner (engine.captioners.lean_git, no transformers) against the transformers path it
replaces, on the default captioner's architecture at full size with random weights (GIT-base, built as
bench/bench_hotkey.py builds it: every caption is exactly --tokens tokens + the end token).

Both are loaded through the app's loader (engine.captioners.hf.load_hf_captioner; the old path with
DESCRIBE_ALOUD_LEAN_GIT=0), in each precision asked for; they caption the same 1280x720 screen image in turns
(old new old new ...) for --runs rounds; medians are quoted, ratios are old / new, and the captions must be
identical (the bench says so, and exits 1 when they are not).

    .venv/bin/python bench/bench_lean_git.py --runs 9 --precisions auto,fp32
    .venv/bin/python bench/bench_lean_git.py --cold 4      # also: cold loads in fresh interpreters

--cold N: N fresh interpreters of each path, in turns, each doing what the app's captioner loader does
(import torch, load the captioner through engine.load_captioner in "auto" precision, its warm-up) and
reporting the seconds of each step, whether transformers / torch._dynamo got imported, and VmRSS after the
warm-up.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from _machine import cpu_line, load_average  # noqa: E402
from bench_captioners import screen_image  # noqa: E402
from bench_hotkey import build_default_captioner  # noqa: E402

STAGES = ("caption", "preprocess", "vision", "decode")

_COLD = r"""
import json, sys, time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
from describe_aloud.engine import load_captioner
captioner = load_captioner(sys.argv[1], precision="auto", device="auto", local_files_only=True)
t2 = time.perf_counter()
captioner.warm_up()
t3 = time.perf_counter()
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS")) / 1024
print(json.dumps({"import torch": t1 - t0, "load": t2 - t1, "warm-up": t3 - t2, "total": t3 - t0, "rss": rss,
                  "transformers": "transformers" in sys.modules, "dynamo": "torch._dynamo" in sys.modules}))
"""


def cold_loads(folder: Path, rounds: int) -> None:
    import json
    import subprocess

    results: dict[str, list[dict]] = {"old": [], "new": []}
    for _ in range(rounds):
        for name in ("old", "new"):
            env = {**os.environ, "DESCRIBE_ALOUD_LEAN_GIT": "0" if name == "old" else "1",
                   "PYTHONPATH": str(REPO), "TRANSFORMERS_VERBOSITY": "error"}
            done = subprocess.run([sys.executable, "-c", _COLD, str(folder)], env=env, capture_output=True,
                                  text=True, timeout=900)
            results[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"\ncold loads, fresh interpreter, {rounds} of each in turns (median seconds; VmRSS MB):")
    for key in ("import torch", "load", "warm-up", "total", "rss"):
        o, n = (statistics.median(r[key] for r in results[name]) for name in ("old", "new"))
        print(f"  {key:12} old {o:8.2f}  new {n:8.2f}  old/new {o / n:4.2f}x")
    for name in ("old", "new"):
        print(f"  {name}: transformers imported {sorted({r['transformers'] for r in results[name]})}, "
              f"torch._dynamo imported {sorted({r['dynamo'] for r in results[name]})}")


def _load(folder: Path, precision: str, lean: bool):
    from describe_aloud.engine import environment
    from describe_aloud.engine.captioners.hf import load_hf_captioner

    os.environ[environment.LEAN_GIT.name] = "1" if lean else "0"
    try:
        t0 = time.perf_counter()
        captioner = load_hf_captioner(str(folder), precision=precision, device="cpu")
        load_s = time.perf_counter() - t0
    finally:
        os.environ.pop(environment.LEAN_GIT.name, None)
    captioner.warm_up()
    return captioner, load_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--precisions", default="auto,fp32")
    parser.add_argument("--cold", type=int, default=0, help="also N cold loads of each path (fresh interpreters)")
    args = parser.parse_args()
    import torch

    print(f"CPU: {cpu_line()}\nat start: {load_average()}\ntorch {torch.__version__}, "
          f"{torch.get_num_threads()} threads", flush=True)
    image = screen_image()
    all_same = True
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "git-base"
        build_default_captioner(folder, args.tokens)
        for precision in args.precisions.split(","):
            old, old_load = _load(folder, precision, lean=False)
            new, new_load = _load(folder, precision, lean=True)
            print(f"\n{precision}: old {old!r} (packed {old.packed_linear_layers}), load {old_load:.2f} s;\n"
                  f"  new {new!r} (packed {new.packed_linear_layers}), load {new_load:.2f} s", flush=True)
            samples = {name: {stage: [] for stage in STAGES} for name in ("old", "new")}
            captions = {}
            for _ in range(args.runs):
                for name, captioner in (("old", old), ("new", new)):
                    t0 = time.perf_counter()
                    (result,) = captioner.caption([image])
                    samples[name]["caption"].append(time.perf_counter() - t0)
                    for stage in STAGES[1:]:
                        samples[name][stage].append(result.timings_ms[stage] / 1000)
                    captions[name] = result.caption
            same = captions["old"] == captions["new"]
            all_same &= same
            print(f"  median seconds of {args.runs} runs, {args.tokens}-token caption:")
            for stage in STAGES:
                o, n = (statistics.median(samples[name][stage]) for name in ("old", "new"))
                print(f"    {stage:10} old {o:.3f}  new {n:.3f}  old/new {o / n:4.2f}x")
            print(f"  captions identical: {same}" + ("" if same else f"\n    old {captions['old']!r}\n    new {captions['new']!r}"))
            del old, new
        if args.cold:
            cold_loads(folder, args.cold)
    print(f"\nat end: {load_average()}")
    return 0 if all_same else 1


if __name__ == "__main__":
    raise SystemExit(main())
