"""The driver of a Ray batch: lists the input, skips the finished shards, runs the pipeline on the cluster
and files each shard's records as soon as the last of its images comes back.

    summary = RayBatchRunner(RayBatchOptions(input="Photos", out="alt.csv", address=None)).run()

Pipeline (Ray Data, streaming): from_items(one row per image still to do) -> map_batches(read_and_decode,
tasks) -> map_batches(ReadText, OCR actors) -> map_batches(Describe, model actors: the model loads once
per actor) -> iter_batches on the driver. Tasks and actors are retried by Ray a bounded number of times; a
retried batch can reach the driver twice, so records are kept per shard by path: each image is filed once.

Threading: run() on one thread (the CLI's main thread); on_progress is called on it.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from describe_aloud.engine.batch_inputs import DEFAULT_MAX_SIDE, MAX_SIDE_NO_OCR
from describe_aloud.engine.batch_types import DEFAULT_BATCH_CPU, DEFAULT_BATCH_GPU, Progress
from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.i18n import _
from describe_aloud.engine.ray_batch.cluster import MAX_RETRIES, OCR_CPUS, READ_CPUS, connect, import_ray, plan_for
from describe_aloud.engine.ray_batch.inputs import Shard, make_shards, resolve_inputs
from describe_aloud.engine.ray_batch.manifest import LOCK_NAME, RunFolder
from describe_aloud.engine.ray_batch.side_effects import SideEffects
from describe_aloud.engine.ray_batch.summary import RaySummary

log = logging.getLogger(__name__)

DEFAULT_SHARD_SIZE = 64
READ_BATCH = 8
ACTOR_START_TIMEOUT_S = 900  # loading a model on a busy machine can take minutes; more means it cannot start


@dataclass
class RayBatchOptions:
    input: str  # a folder, a .txt list of paths, or a glob / URI
    out: str  # .csv / .jsonl / .json (assembled from the shards) or .parquet (a folder of shards)
    address: str | None = None  # None: a local cluster; "auto", "ray://host:10001", "host:6379"
    recursive: bool = False
    sidecar: str | None = None
    write_metadata: bool = False
    replace_alt_text: bool = False  # with write_metadata: also replace alt text Describe Aloud did not write
    model: str | None = None
    detail: bool = False
    batch_size: int | None = None  # images per model call
    concurrency: int | None = None  # describe actors (None: one per GPU, or one per node)
    shard_size: int = DEFAULT_SHARD_SIZE
    precision: str = "auto"
    device: str = "auto"
    use_ocr: bool = True
    max_side: int | None = None
    num_cpus: int | None = None  # of a local cluster (None: all)
    run_dir: str | None = None  # None: OUT.parts/ (or OUT itself for Parquet)
    captioner_factory: Callable[[], Any] | None = field(default=None, repr=False)


class RayBatchRunner:
    def __init__(self, options: RayBatchOptions, *, on_progress: Callable[[Progress], None] | None = None,
                 on_status: Callable[[str], None] | None = None,
                 on_shard: Callable[[str], None] | None = None) -> None:
        """`on_shard(shard_id)` is called after each shard is filed (tests kill things from there)."""
        self.options = options
        self._on_progress = on_progress
        self._on_status = on_status or (lambda message: None)
        self._on_shard = on_shard or (lambda shard_id: None)

    def run(self) -> RaySummary:
        from describe_aloud.engine.journal import Journal, JournalBusy
        from describe_aloud.engine.outputs import output_format

        opts = self.options
        ray = import_ray()  # before anything else: without Ray, say what to install
        parquet = opts.out.lower().rstrip("/").endswith(".parquet")
        if not parquet:
            output_format(opts.out)
        started = time.monotonic()
        inputs = resolve_inputs(opts.input, recursive=opts.recursive)
        run = RunFolder(Path(opts.run_dir or (opts.out if parquet else opts.out + ".parts")).expanduser(),
                        parquet=parquet)
        run.create()
        summary = RaySummary(input=inputs.label, found=len(inputs.images), run_dir=str(run.path.resolve()),
                             out=str(Path(opts.out).resolve()))
        try:
            lock = Journal(run.path / LOCK_NAME, exclusive=True)
        except JournalBusy:
            raise UserFacingError(_("Another batch is already writing {path!r}. Wait for it to finish, or stop "
                                    "it first; finished results are kept either way.").format(path=str(run.path)))
        except (sqlite3.Error, OSError) as exc:  # e.g. a share where SQLite's WAL mode does not work
            raise UserFacingError(_("The results cannot be kept in {path!r} ({reason}): choose another place "
                                    "with --out.").format(path=str(run.path), reason=exc)) from None
        with lock:
            if not parquet:
                from describe_aloud.engine.outputs import check_output_writable

                check_output_writable(opts.out, lock)
            settings = json.dumps([opts.model, opts.detail, opts.use_ocr, self._max_side(),
                                   "factory" if opts.captioner_factory else None])
            shards = make_shards(inputs.images, opts.shard_size, settings=settings)
            finished = run.finished()
            todo = [s for s in shards if s.id not in finished]
            summary.skipped = sum(len(s.images) for s in shards if s.id in finished)
            self._status(_("{todo} images to describe in {shards} shards, {done} already done.").format(
                todo=sum(len(s.images) for s in todo), shards=len(todo), done=summary.skipped))
            try:
                if todo:
                    self._run_pipeline(ray, todo, run, summary, SideEffects(opts, lock, summary), started)
            except KeyboardInterrupt:
                summary.interrupted = True
            finally:
                done_ids = run.finished()
                summary.unfinished = sum(len(s.images) for s in shards if s.id not in done_ids)
                if not parquet:
                    self._assemble(run, [s.id for s in shards if s.id in done_ids], inputs.label, lock, summary)
        summary.elapsed = time.monotonic() - started
        return summary

    def _max_side(self) -> int:
        opts = self.options
        return opts.max_side or (DEFAULT_MAX_SIDE if opts.use_ocr else MAX_SIDE_NO_OCR)

    def _run_pipeline(self, ray, todo: list[Shard], run: RunFolder, summary: RaySummary, effects, started) -> None:
        owned = connect(ray, self.options.address, num_cpus=self.options.num_cpus)
        try:
            self._stream(ray, todo, run, summary, effects)
        finally:
            if owned:
                ray.shutdown()

    def _dataset(self, ray, todo: list[Shard]):
        with warnings.catch_warnings():
            # Ray 2.60 deprecates the retry caps as remote args (removed in 2.64, outside our range); they
            # are kept because Ray Data's defaults retry a dying task or actor forever.
            warnings.filterwarnings("ignore", message=".*ray_remote_args.*is deprecated")
            return self._build(ray, todo)

    def _build(self, ray, todo: list[Shard]):
        from describe_aloud.engine.ray_batch.stages import Describe, ReadText, read_and_decode

        opts = self.options
        plan = plan_for(ray, concurrency=opts.concurrency, use_ocr=opts.use_ocr, device=opts.device)
        self._status(plan.describe())
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # ours is on the console (the CLI's bar); Ray's would garble it
        ctx.enable_operator_progress_bars = False
        ctx.print_on_execution_start = False
        # Start work only when every model actor is up, so the work spreads over all of them (a first actor
        # would otherwise take it all while the others still load the model), and say so rather than wait
        # forever when the cluster cannot fit them.
        ctx.wait_for_min_actors_s = ACTOR_START_TIMEOUT_S
        items = [{"shard": s.id, "rel": i.rel, "source": i.source} for s in todo for i in s.images]
        batch = max(1, opts.batch_size or (DEFAULT_BATCH_GPU if plan.actor_gpus else DEFAULT_BATCH_CPU))
        retries = {"max_restarts": MAX_RETRIES, "max_task_retries": MAX_RETRIES}
        ds = ray.data.from_items(items, override_num_blocks=max(1, min(len(items) // READ_BATCH, 2000)))
        ds = ds.map_batches(read_and_decode, fn_kwargs={"max_side": self._max_side()}, batch_format="pyarrow",
                            batch_size=READ_BATCH, num_cpus=READ_CPUS, max_retries=MAX_RETRIES)
        if opts.use_ocr:
            ds = ds.map_batches(ReadText, batch_format="pyarrow", batch_size=batch, num_cpus=OCR_CPUS,
                                compute=ray.data.ActorPoolStrategy(size=plan.actors), **retries)
        kwargs = dict(precision=opts.precision, device=plan.device, detail=opts.detail, use_ocr=opts.use_ocr,
                      threads=plan.threads, captioner_factory=opts.captioner_factory)
        return ds.map_batches(Describe, fn_constructor_args=(opts.model,), fn_constructor_kwargs=kwargs,
                              batch_format="pyarrow", batch_size=batch, num_cpus=plan.actor_cpus,
                              num_gpus=plan.actor_gpus or None,
                              compute=ray.data.ActorPoolStrategy(size=plan.actors), **retries)

    def _stream(self, ray, todo: list[Shard], run: RunFolder, summary: RaySummary, effects) -> None:
        by_id = {s.id: s for s in todo}
        waiting: dict[str, dict[str, dict]] = {}
        total = sum(len(s.images) for s in todo)
        done = 0
        work_started = time.monotonic()
        self._progress(summary, 0, total, "", work_started)
        try:
            for table in self._dataset(ray, todo).iter_batches(batch_format="pyarrow", batch_size=None):
                columns = (table.column(c).to_pylist() for c in ("shard", "rel", "record", "node"))
                for shard_id, rel, record, node in zip(*columns):
                    if shard_id not in by_id:
                        continue  # already filed: a retried batch came back a second time
                    got = waiting.setdefault(shard_id, {})
                    if rel not in got:
                        summary.per_node[node] = summary.per_node.get(node, 0) + 1
                    got[rel] = json.loads(record)
                    shard = by_id[shard_id]
                    if len(waiting[shard_id]) < len(shard.images):
                        continue
                    got = waiting.pop(shard_id)
                    records = [got[i.rel] for i in shard.images]
                    run.write_shard(shard_id, records)
                    effects.apply(shard, records)
                    del by_id[shard_id]
                    summary.count(records)
                    done += len(records)
                    self._progress(summary, done, total, records[-1]["path"], work_started)
                    self._on_shard(shard_id)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - a cluster failure: what is filed stays filed
            log.exception("the Ray run failed")
            summary.run_error = _("The Ray run stopped: {reason}").format(reason=_short(exc))
        summary.work_seconds = time.monotonic() - work_started

    def _assemble(self, run: RunFolder, shard_ids: list[str], label: str, lock, summary: RaySummary) -> None:
        """The results file from the finished shards, in input order (atomically; only over our own file)."""
        import hashlib

        from describe_aloud.engine.metadata import atomic_write_bytes
        from describe_aloud.engine.outputs import check_output_writable, output_format, output_path, render

        path = output_path(self.options.out)
        try:
            check_output_writable(path, lock)
            data = render(output_format(path), run.records(shard_ids), folder=label)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, data)
            lock.set_written_hash(str(path), hashlib.sha256(data).hexdigest())
        except UserFacingError as exc:
            summary.output_problems.append(str(exc))
        except OSError as exc:
            summary.output_problems.append(_("The results file {path} could not be written: {reason}.").format(
                path=path, reason=exc.strerror or exc))

    def _progress(self, summary: RaySummary, done: int, total: int, current: str, started: float) -> None:
        if self._on_progress is None:
            return
        elapsed = max(1e-9, time.monotonic() - started)
        rate = done / elapsed if done else 0.0
        self._on_progress(Progress(done=done, total=total, described=summary.described, failed=len(summary.failed),
                                   skipped=summary.skipped, current=current, rate=rate,
                                   eta_seconds=(total - done) / rate if rate > 0 else None, elapsed=elapsed))

    def _status(self, message: str) -> None:
        self._on_status(message)


def _short(exc: BaseException) -> str:
    """The first line of a (possibly very long, remote) exception."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
