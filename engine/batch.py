"""Describe a whole folder: resumable, batched, nothing lost, alt text written where photo tools read it.

    runner = BatchRunner(BatchOptions(folder="Photos", recursive=True, out="Photos/alt.csv"))
    summary = runner.run()          # blocks; call pause() / resume() / cancel() from another thread

Pipeline: the folder is scanned (sorted paths); each file's size + mtime (+ SHA-256 with `hash_files`)
is checked against the journal (engine.journal) and what is already done is skipped. A small thread pool
decodes and shrinks the remaining images ahead of the model (a bounded prefetch window), the main loop
hands `batch_size` images at a time to `Describer.describe_batch` (one captioner call per batch), records
the batch in the journal in one durable transaction, then writes sidecars / metadata and, at most every
`checkpoint_seconds`, the results file (always at the end, on cancel and on Ctrl+C).

A file that cannot be read (corrupt, truncated, not an image, unreadable, empty, a decompression bomb) is
recorded as failed with its reason and retried on the next run; the run goes on.

Threading contract: `run()` is called on one thread (the CLI's main thread or the GUI's QThread) and owns
the journal, the describer and the loader pool. `pause()`, `resume()` and `cancel()` may be called from
any thread; they take effect between batches. `on_progress` is called on the run() thread.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from describe_aloud.engine.batch_inputs import (
    DEFAULT_MAX_SIDE,
    MAX_SIDE_NO_OCR,
    LoadedImage,
    load_for_batch,
    remove_stale_temp_files,
    scan_folder,
)
from describe_aloud.engine.batch_types import (
    DEFAULT_BATCH_CPU,
    DEFAULT_BATCH_GPU,
    SIDECAR_KINDS,
    BatchOptions,
    BatchSummary,
    Progress,
    record_settings,
)
from describe_aloud.engine.errors import ImageLoadError, UserFacingError
from describe_aloud.engine.i18n import _, ngettext
from describe_aloud.engine.journal import (
    Entry,
    FileKey,
    Journal,
    JournalBusy,
    default_journal_path,
    utc_now,
)

log = logging.getLogger(__name__)

class BatchRunner:
    """Runs one batch (see the module docstring for the threading contract)."""

    def __init__(
        self,
        options: BatchOptions,
        *,
        captioner: Any = None,
        describer: Any = None,
        on_progress: Callable[[Progress], None] | None = None,
        on_status: Callable[[str], None] | None = None,
    ) -> None:
        """`captioner` / `describer`: already built ones (tests, the bench); otherwise the captioner is
        loaded from `options.model` inside run(), on the run() thread."""
        self.options = options
        self._captioner = captioner
        self._describer = describer
        self._on_progress = on_progress
        self._on_status = on_status
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._scanned: set[str] | None = None

    # -- control (any thread) -------------------------------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()  # wake a paused run so that it can stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    # -- the run --------------------------------------------------------------------------------
    def run(self) -> BatchSummary:
        """Describe what is not done yet. Raises UserFacingError (ModelNotAvailable: exit code 2,
        OutputConflict...) before any work starts; afterwards problems are reported in the summary."""
        from describe_aloud.engine.outputs import check_output_writable, output_format

        opts = self.options
        folder = Path(opts.folder).expanduser()
        if not folder.is_dir():
            error = UserFacingError(_("The folder {folder!r} does not exist or is not a folder.").format(folder=opts.folder))
            error.exit_code = 2  # a usage error, like a bad option
            raise error
        if opts.sidecar not in (None, *SIDECAR_KINDS):
            raise UserFacingError(_("--sidecar must be one of: {items}.").format(items=', '.join(SIDECAR_KINDS)))
        if opts.out:
            output_format(opts.out)
        started = time.monotonic()
        summary = BatchSummary(folder=str(folder))
        journal_path = Path(opts.journal_path) if opts.journal_path else default_journal_path(folder)
        try:
            try:
                journal = self._open_journal(journal_path, summary)
            except (sqlite3.Error, OSError) as exc:
                if opts.journal_path:
                    raise UserFacingError(_("The journal {journal_path!r} cannot be used: {reason}.").format(journal_path=str(journal_path), reason=exc)) from None
                # SQLite's WAL mode does not work on some network shares: keep the journal on this computer.
                log.warning("journal in the folder unusable (%r); using the data folder", exc)
                journal_path = default_journal_path(folder, in_folder=False)
                journal = self._open_journal(journal_path, summary)
        except JournalBusy:
            raise UserFacingError(
                _("Another batch is already describing {folder!r}. Wait for it to finish, or stop it first; "
                  "finished results are kept either way.").format(folder=str(folder))
            ) from None
        summary.journal = str(journal_path)
        with journal:
            if journal.upgraded:  # alt text an older version wrote stays replaceable by this one
                from describe_aloud.engine.metadata_formats.existing import adopt_earlier_alt_text

                adopt_earlier_alt_text(journal, folder)
            if opts.out:
                check_output_writable(opts.out, journal)
                summary.out = str(Path(opts.out).resolve())
            self._status(_("Looking for images…"))
            rel_paths = scan_folder(folder, recursive=opts.recursive, unreadable=summary.left_out)
            summary.found = len(rel_paths)
            self._scanned = set(rel_paths)
            remove_stale_temp_files(folder, rel_paths)
            describer = self._make_describer() if rel_paths else None
            summary.model_id = describer.model_id if describer else None
            try:
                self._run(folder, rel_paths, journal, describer, summary, started)
            except KeyboardInterrupt:
                summary.interrupted = True
            finally:
                summary.cancelled = self._cancel.is_set()
                if opts.out:
                    self._write_results(journal, folder, summary)
        summary.elapsed = time.monotonic() - started
        return summary

    def _open_journal(self, path: Path, summary: BatchSummary) -> Journal:
        from describe_aloud.engine.journal_repair import open_journal

        # A damaged journal is kept aside and recovered, and the summary says so (never a silent restart).
        return open_journal(path, out=self.options.out, notes=summary.output_notes)

    def _make_describer(self):
        if self._describer is not None:
            return self._describer
        from describe_aloud.engine.describer import Describer

        if self._captioner is None:
            from describe_aloud.engine.captioners import load_captioner

            self._status(_("Loading the model…"))
            self._captioner = load_captioner(
                self.options.model, precision=self.options.precision, device=self.options.device
            )
        self._describer = Describer(self._captioner, use_ocr=self.options.use_ocr,
                                    translator=self._translator(), translate_text=self.options.translate_text)
        return self._describer

    def _language(self) -> str:
        from describe_aloud.engine.i18n import current_language

        return self.options.language or current_language()

    def _translator(self):
        """The translator into the batch's language (None for English). A missing translation model stops
        the run before any image is described, with the command that downloads it: alt text in the wrong
        language written into hundreds of files would be worse than none."""
        from describe_aloud.engine.translation import load_translator_for

        return load_translator_for(self._language())

    def _batch_size(self) -> int:
        if self.options.batch_size:
            return max(1, int(self.options.batch_size))
        try:
            from describe_aloud.engine.device import resolve_device

            return DEFAULT_BATCH_GPU if resolve_device(self.options.device).startswith("cuda") else DEFAULT_BATCH_CPU
        except Exception:  # noqa: BLE001 - no torch: the CPU default
            return DEFAULT_BATCH_CPU

    def _run(self, folder: Path, rel_paths: list[str], journal: Journal, describer, summary: BatchSummary,
             started: float) -> None:
        opts = self.options
        todo: list[tuple[str, FileKey | None]] = []
        model_id = describer.model_id if describer else None
        settings = record_settings(opts, self._language())
        for rel in rel_paths:
            try:
                # Hashing (with --hash) is done here only for files the journal already knows; new
                # files are hashed by the loader threads.
                known = journal.get(rel)
                key = FileKey.of(folder / rel, with_hash=opts.hash_files and known is not None)
            except (OSError, ImageLoadError):  # a FIFO with --hash: the loader reports what it is
                todo.append((rel, None))  # the loader reports why it cannot be read
                continue
            if known is not None and journal.is_done(rel, key, model_id=model_id, detail=opts.detail, settings=settings):
                summary.skipped += 1
                self._side_effects(folder, journal.get(rel), journal, summary)  # new flags on an old run
                continue
            todo.append((rel, key if (not opts.hash_files or key.sha256) else None))

        batch_size = self._batch_size()
        total = len(todo)
        self._status(ngettext("{total} image to describe, {skipped} already done.",
                              "{total} images to describe, {skipped} already done.", total)
                     .format(total=total, skipped=summary.skipped))
        self._progress(summary, 0, total, "", started, time.monotonic())
        if not todo:
            return
        work_started = time.monotonic()
        last_checkpoint = work_started
        checkpoint_every = opts.checkpoint_seconds
        done = 0
        window = max(batch_size * 2, opts.loader_threads * 2)
        max_side = opts.max_side or (DEFAULT_MAX_SIDE if opts.use_ocr else MAX_SIDE_NO_OCR)
        pending: deque[Future] = deque()
        queue = iter(todo)
        with ThreadPoolExecutor(max_workers=max(1, opts.loader_threads), thread_name_prefix="batch-load") as pool:
            def refill() -> None:
                while len(pending) < window:
                    item = next(queue, None)
                    if item is None:
                        return
                    rel, key = item
                    pending.append(pool.submit(load_for_batch, folder, rel, key, max_side, opts.hash_files))

            try:
                refill()
                while pending:
                    self._running.wait()
                    if self._cancel.is_set():
                        break
                    batch = [pending.popleft().result() for _slot in range(min(batch_size, len(pending)))]
                    refill()
                    entries = self._describe(batch, describer)
                    journal.record(entries)  # durable: the batch is never described again
                    for entry in entries:
                        if entry.status == "done":
                            summary.described += 1
                            self._side_effects(folder, entry, journal, summary)
                        else:
                            summary.failed.append((entry.path, entry.error or _("unknown error")))
                    done += len(entries)
                    now = time.monotonic()
                    self._progress(summary, done, total, entries[-1].path, work_started, now)
                    if opts.out and now - last_checkpoint >= checkpoint_every and pending:
                        self._write_results(journal, folder, summary)
                        last_checkpoint = time.monotonic()
                        # A results file of 100 000 rows takes a while to write: never spend more than
                        # about 5 % of the run on checkpoints.
                        checkpoint_every = max(opts.checkpoint_seconds, 20 * (last_checkpoint - now))
            finally:
                for fut in pending:
                    fut.cancel()

    def _describe(self, batch: list[LoadedImage], describer) -> list[Entry]:
        """Entries for a batch: failed ones for unreadable files, described ones for the rest."""
        opts = self.options
        entries: dict[str, Entry] = {}
        good = [item for item in batch if item.error is None]
        for item in batch:
            if item.error is not None:
                entries[item.rel] = self._failed(item, item.error, describer)
        descriptions: list[Any] = []
        if good:
            try:
                descriptions = describer.describe_batch(
                    [item.image for item in good], detail=opts.detail, sources=[item.rel for item in good]
                )
            except Exception as exc:  # noqa: BLE001 - find the image that breaks it, keep the others
                log.warning("batch failed (%r); describing its images one by one", exc)
                descriptions = []
                for item in good:
                    try:
                        descriptions.append(describer.describe_batch([item.image], detail=opts.detail,
                                                                     sources=[item.rel])[0])
                    except Exception as one_exc:  # noqa: BLE001
                        descriptions.append(one_exc)
        for item, d in zip(good, descriptions):
            item.image = None  # free the pixels early
            if isinstance(d, Exception):
                reason = str(d) if isinstance(d, UserFacingError) else f"{type(d).__name__}: {d}"
                entries[item.rel] = self._failed(item, _("{rel} could not be described ({reason}).").format(rel=item.rel, reason=reason), describer)
                continue
            if d.caption_error and d.caption is None and d.kind.value != "blank":
                entries[item.rel] = self._failed(item, d.caption_error, describer)
                continue
            d.width, d.height = item.size  # the original's size, not the shrunk copy's
            entries[item.rel] = self._done(item, d, describer)
        return [entries[item.rel] for item in batch]

    def _done(self, item: LoadedImage, d, describer) -> Entry:
        from describe_aloud.engine.render import alt_text

        return Entry(path=item.rel, key=item.key or FileKey(0, 0), status="done", model_id=describer.model_id,
                     detail=self.options.detail, description=d.to_dict(), alt_text=alt_text(d),
                     described_at=utc_now(), settings=record_settings(self.options, self._language()))

    def _failed(self, item: LoadedImage, reason: str, describer) -> Entry:
        return Entry(path=item.rel, key=item.key or FileKey(-1, -1), status="failed",
                     model_id=describer.model_id if describer else None, detail=self.options.detail,
                     error=reason, described_at=utc_now())

    def _side_effects(self, folder: Path, entry: Entry | None, journal: Journal, summary: BatchSummary) -> None:
        """Sidecar and in-file metadata for a done entry, when asked and not already written."""
        from describe_aloud.engine.metadata import write_alt_text, write_xmp_sidecar
        from describe_aloud.engine.metadata_formats.existing import record_before_writing
        from describe_aloud.engine.outputs import write_text_sidecar

        opts = self.options
        if entry is None or entry.status != "done" or not entry.alt_text:
            return
        from describe_aloud.engine.lang_text import LangText

        path = folder / entry.path
        alt = LangText(entry.alt_text, self._language())  # XMP: x-default and this language
        if opts.sidecar and entry.sidecar_status != f"written:{opts.sidecar}":
            if opts.sidecar == "xmp":
                result = write_xmp_sidecar(path, alt)
                status, note = result.status, result.reason
            else:
                status, note = write_text_sidecar(path, entry.alt_text, journal)
            if status == "written":
                summary.sidecars_written += 1
                journal.update_file_state(entry.path, sidecar_status=f"written:{opts.sidecar}", sidecar_note=None)
            else:
                summary.sidecar_problems.append((entry.path, note))
                journal.update_file_state(entry.path, sidecar_status=status, sidecar_note=note)
        if opts.write_metadata and entry.metadata_status not in ("written", "unsupported"):
            try:
                ours = record_before_writing(journal, path, alt)  # our own earlier text may be replaced
                result = write_alt_text(path, alt, ours=ours, replace_existing=opts.replace_alt_text, within=folder)
            except Exception as exc:  # noqa: BLE001 - one odd file must not stop the run; it is reported
                log.exception("writing metadata into %s failed", entry.path)
                from describe_aloud.engine.metadata import MetadataResult

                result = MetadataResult(str(path), "failed", _("left untouched: {name__}: {reason}").format(name__=type(exc).__name__, reason=exc))
            if result.ok:
                summary.metadata_written += 1
                # The file grew (mtime is kept): record its new key so the next run still sees it as done.
                new_key = FileKey.of(path, with_hash=entry.key.sha256 is not None)
                journal.update_file_state(entry.path, key=new_key, metadata_status="written", metadata_note=None)
            else:
                summary.metadata_problems.append((entry.path, result.reason))
                journal.update_file_state(entry.path, metadata_status=result.status, metadata_note=result.reason)

    def _write_results(self, journal: Journal, folder: Path, summary: BatchSummary) -> None:
        from describe_aloud.engine.outputs import write_results

        try:
            notes: list[str] = []
            write_results(self.options.out, journal, folder=str(folder), only=self._scanned, notes=notes)
            summary.output_notes.extend(n for n in notes if n not in summary.output_notes)
        except UserFacingError as exc:
            summary.output_problems.append(str(exc))
        except OSError as exc:
            summary.output_problems.append(_("The results file {out} could not be written: {value}.").format(out=self.options.out, value=exc.strerror or exc))

    def _progress(self, summary: BatchSummary, done: int, total: int, current: str, started: float,
                  now: float) -> None:
        if self._on_progress is None:
            return
        elapsed = max(1e-9, now - started)
        rate = done / elapsed if done else 0.0
        eta = (total - done) / rate if rate > 0 else None
        self._on_progress(Progress(done=done, total=total, described=summary.described,
                                   failed=len(summary.failed), skipped=summary.skipped, current=current,
                                   rate=rate, eta_seconds=eta, elapsed=elapsed))

    def _status(self, message: str) -> None:
        if self._on_status is not None:
            self._on_status(message)


__all__ = [  # scan_folder and the loaders live in engine.batch_inputs; named here for the batch's callers
    "BatchOptions",
    "BatchRunner",
    "BatchSummary",
    "Progress",
    "SIDECAR_KINDS",
    "scan_folder",
]
