"""Cold start of the real app under Xvfb: process start -> "Ready." -> a hotkey's text -> its caption, this
checkout against a baseline checkout, started alternately in the same run.

One run of this script:
1. builds the default captioner (GIT-base, the microsoft/git-base-coco architecture) at FULL size with random
   weights, as bench/bench_hotkey.py does (its build_default_captioner), and a page of text on a private
   Xvfb (a frameless full-screen window: what a capture sees);
2. --starts times, alternating which goes first: starts `python main.py gui --model <that folder>` of the
   BASELINE (the source tree of --baseline, a git revision, extracted into a temporary folder and put first
   on PYTHONPATH, so the installed environment is the same) and of THIS checkout, each with isolated folders
   and DESCRIBE_ALOUD_AUDIO_SINK (every sound copied into a folder; a WAV's modification time is when it
   started), and measures from process start:
     window   the main window is mapped;
     ready    the "Ready." WAV starts;
     text     a describe_screen request sent on the app's socket the moment "Ready." has been heard (what a
              user pressing the hotkey then does): the first spoken WAV of the description starts;
     caption  the whole description (text and caption) is in the history, i.e. the caption has joined;
   and checks the text was read and a caption made;
3. one fresh interpreter doing the start's steps one after the other (importing the app, the text reader's
   import and first read, torch, loading the captioner: the lean GIT one, which imports no transformers;
   the step says which class loaded and whether transformers / torch._dynamo were imported), and the share
   of `from transformers import GitForCausalLM` that is torch._dynamo (python -X importtime: what the lean
   path saves).

    .venv/bin/python bench/bench_start.py                 # 5 starts of each
    .venv/bin/python bench/bench_start.py --starts 3 --baseline main

Prints the CPU model and flags and the load average at the start and the end: other processes on the same
cores slow every figure down; above 1.5 per core the absolute figures are a busy machine's, the ratios
(same run, interleaved) still compare.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from _machine import cpu_line, load_average  # noqa: E402
from bench_hotkey import (  # noqa: E402
    App,
    HistoryWatch,
    NewSounds,
    Sink,
    cold_start,
    isolated_app_with_captioner,
    percentile,
    show_picture,
    start_xvfb,
    stop_process,
    text_page,
)

SCREEN = (1280, 720)
TARGETS = {"ready": 3.0, "caption": 4.5}  # seconds from process start (issue 17)
# The baseline default: the commit before the one that split describing in two (read first, caption later),
# the first change of the start-up described in docs/architecture.md ("Start-up").
FIRST_CHANGE = ("class ReadImage", "engine/describer.py")
EXPECTED_WORDS = ("minutes", "meeting")


def log(message: str) -> None:
    print(message, flush=True)


def default_baseline() -> str:
    text, path = FIRST_CHANGE
    added = subprocess.run(["git", "log", "-S", text, "--format=%H", "--", path], cwd=REPO,
                           capture_output=True, text=True).stdout.split()
    return f"{added[-1]}^" if added else "main"


def extract_baseline(revision: str, into: Path) -> str:
    """The app's packages at `revision`, as describe_aloud/{engine,gui,cli,assets} under `into` (first on
    PYTHONPATH, they shadow this checkout's editable install). Returns the short hash."""
    short = subprocess.run(["git", "rev-parse", "--short", revision], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.strip()
    package = into / "describe_aloud"
    package.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", revision, "engine", "gui", "cli", "assets"], cwd=REPO,
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(package)], input=archive, check=True)
    for mo in (REPO / "engine" / "locale").glob("*/LC_MESSAGES/*.mo"):  # compiled by setup.sh, not in git
        target = package / mo.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(mo, target)
    return short


def last_entry() -> dict:
    from describe_aloud.engine.history import HistoryStore, history_path

    if not history_path().exists():
        return {}
    with HistoryStore() as store:
        entry = store.latest()
    return {"id": entry.id, "time": entry.time, "text": entry.text} if entry else {}


def one_start(env: dict[str, str], model_dir: Path, folder: Path, timeout: float) -> dict[str, float]:
    """Start the app, wait for "Ready.", ask for the screen at once, time the text and the caption."""
    from describe_aloud.engine.ipc import send_command

    sink_dir = folder / "sink"
    sink_dir.mkdir(parents=True)
    sink = Sink(sink_dir)
    app = App({**env, "DESCRIBE_ALOUD_AUDIO_SINK": str(sink_dir)}, model_dir, folder / "app.log")
    try:
        found = cold_start(app, sink, timeout)  # window, socket, ready (seconds from process start)
        sounds = NewSounds(sink)
        asked = time.time()
        if not send_command("describe_screen", 3000):
            raise SystemExit(f"the app did not accept describe_screen:\n{app.tail()}")
        found["asked"] = asked - app.started
        # The history is opened only when its files changed (HistoryWatch): polling it would take CPU
        # time from the app being measured.
        entries = HistoryWatch(lambda: last_entry().get("id", 0))
        deadline = time.monotonic() + timeout
        entry: dict = {}
        while time.monotonic() < deadline and not (entry and "text" in found):
            if not app.alive():
                raise SystemExit(f"the app exited:\n{app.tail()}")
            for wav, name in sounds.poll():
                if name is None and "text" not in found:
                    found["text"] = sink.started_at(wav) - app.started
            if not entry and entries.grew():
                entry = last_entry()
            time.sleep(0.05)
        if not entry:
            raise SystemExit(f"no description within {timeout:.0f} s:\n{app.tail()}")
        found["caption"] = entry["time"] - app.started
        spoken = entry["text"].lower()
        found["text_read"] = float(all(word in spoken for word in EXPECTED_WORDS))
        found["captioned"] = float("could be:" in spoken)
    finally:
        app.quit()
    return found


_STEPS = r"""
import json, sys, time
t = time.perf_counter(); out = {}
def step(name):
    global t
    now = time.perf_counter(); out[name] = round(now - t, 3); t = now
from describe_aloud.gui.app import AppController; step("import the app (Qt, engine modules)")
from describe_aloud.engine.ocr import OcrEngine
ocr = OcrEngine(threads=2); ocr.warm_up(); step("text reader: import + first read")
import torch; step("import torch")
from describe_aloud.engine import load_captioner
captioner = load_captioner(sys.argv[1], precision="auto", device="auto", local_files_only=True)
step("load captioner (" + type(captioner).__name__ + ")")
captioner.warm_up(); step("captioner warm-up (one caption)")
out["transformers imported"] = "transformers" in sys.modules
out["torch._dynamo imported"] = "torch._dynamo" in sys.modules
print(json.dumps(out))
"""


def start_steps(model_dir: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", _STEPS, str(model_dir)], cwd=REPO, capture_output=True,
                          text=True, timeout=900)
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"failed": float("nan")}


def dynamo_share() -> tuple[float, float]:
    """(seconds of torch._dynamo, seconds of everything) in `from transformers import GitForCausalLM`
    after `import torch`, from python -X importtime (cumulative microseconds per top-level import)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c",
                           "import torch\nfrom transformers import GitForCausalLM"],
                          capture_output=True, text=True, timeout=600)
    total = dynamo = 0
    torch_done = False
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not match:
            continue
        cumulative, indent, name = int(match[2]), len(match[3]), match[4]
        if indent == 1 and name == "torch":
            torch_done = True
            continue
        if torch_done and indent == 1:
            total += cumulative
        if name == "torch._dynamo":
            dynamo = max(dynamo, cumulative)
    return dynamo / 1e6, total / 1e6


def summary(name: str, values: list[float]) -> str:
    if not values:
        return f"  {name:<32} n/a"
    return (f"  {name:<32} p50 {statistics.median(values):6.2f}  p95 {percentile(values, 95):6.2f}  "
            f"min {min(values):6.2f}  max {max(values):6.2f}  (n={len(values)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=5, help="starts of each variant (default 5)")
    parser.add_argument("--baseline", default=None,
                        help="git revision to compare with (default: the commit before the two-step start-up)")
    parser.add_argument("--no-baseline", action="store_true", help="only this checkout")
    parser.add_argument("--tokens", type=int, default=20, help="caption length in words (default 20)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for each step")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (app logs, sinks)")
    args = parser.parse_args(argv)

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    log(f"bench_start: {cpu_line()}; torch {torch.__version__}, transformers {transformers.__version__}")
    log(f"at start: {load_average()}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-start-"))
    try:
        code = _bench(args, tmp)
    except BaseException:
        log(f"failed; app logs and sinks are kept in {tmp}")
        raise
    if args.keep:
        log(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return code


def _bench(args: argparse.Namespace, tmp: Path) -> int:
    model_dir = isolated_app_with_captioner(tmp, args.tokens)

    variants: dict[str, dict[str, str]] = {"this checkout": {}}
    if not args.no_baseline:
        revision = args.baseline or default_baseline()
        short = extract_baseline(revision, tmp / "baseline")
        variants = {f"baseline {short}": {"PYTHONPATH": str(tmp / "baseline")}, **variants}
        log(f"baseline: {revision} ({short})")

    server = start_xvfb(*SCREEN)
    env = server.env(PYTHONUNBUFFERED="1")
    page = tmp / "page.png"
    text_page().save(page)
    picture = None
    results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    try:
        picture, _wid = show_picture(server, page)
        for i in range(args.starts):
            order = list(variants) if i % 2 == 0 else list(reversed(variants))
            for name in order:
                folder = tmp / f"start{i}-{name.split()[0]}"
                found = one_start({**env, **variants[name]}, model_dir, folder, args.timeout)
                results[name].append(found)
                log(f"  start {i + 1} {name:<18} " + "  ".join(
                    f"{k} {v:.2f}" for k, v in found.items() if k not in ("socket", "text_read", "captioned"))
                    + ("" if found["text_read"] and found["captioned"] else "  (text or caption MISSING)")
                    + f"  ({load_average()})")
    finally:
        if picture is not None:
            stop_process(picture)
        server.stop()

    log("")
    log(f"== Process start -> ... (seconds; 'Ready.' heard -> describe_screen at once; {args.starts} starts "
        f"each, interleaved) ==")
    medians: dict[str, dict[str, float]] = {}
    for name, runs in results.items():
        log(f"{name}:")
        medians[name] = {}
        for key, label in (("window", "window mapped"), ("ready", "'Ready.' spoken"),
                           ("text", "request's text spoken"), ("caption", "caption joined (history)")):
            values = [r[key] for r in runs if key in r]
            medians[name][key] = statistics.median(values) if values else float("nan")
            target = TARGETS.get(key)
            verdict = "" if target is None else (
                f"   target <= {target}: {'MET' if medians[name][key] <= target else 'NOT MET'} (p50)")
            log(summary(label, values) + verdict)
        ok = sum(1 for r in runs if r["text_read"] and r["captioned"])
        log(f"  text read and captioned in {ok}/{len(runs)} starts")
    if len(medians) == 2:
        base, new = (medians[name] for name in variants)
        log("ratio baseline / this checkout (p50): " + ", ".join(
            f"{key} {base[key] / new[key]:.2f}x" for key in ("ready", "text", "caption") if new.get(key)))

    log("")
    log("== One fresh interpreter, the start's steps one after the other (seconds) ==")
    log("  " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k}: {v}"
                         for k, v in start_steps(model_dir).items()))
    dynamo, total = dynamo_share()
    log(f"  python -X importtime, after import torch: GitForCausalLM {total:.2f} s of imports, of which "
        f"torch._dynamo {dynamo:.2f} s ({100 * dynamo / total if total else float('nan'):.0f} %)")
    log(f"at end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
