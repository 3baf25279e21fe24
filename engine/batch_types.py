"""What a batch run is asked (BatchOptions), what it reports while running (Progress) and what it says at
the end (BatchSummary). Plain data, shared by the local runner and any other runner of the same pipeline."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from describe_aloud.engine.i18n import _, ngettext

SIDECAR_KINDS = ("txt", "xmp")
DEFAULT_BATCH_CPU = 4
DEFAULT_BATCH_GPU = 16


@dataclass
class BatchOptions:
    folder: str
    recursive: bool = False
    out: str | None = None  # results file (.csv / .jsonl / .json); None: journal only
    sidecar: str | None = None  # "txt" | "xmp" | None
    write_metadata: bool = False
    replace_alt_text: bool = False  # with write_metadata: also replace alt text Describe Aloud did not write
    model: str | None = None  # catalog name / hub id / folder / checkpoint; None: the default
    detail: bool = False
    batch_size: int | None = None  # None: 4 on CPU, 16 on GPU
    hash_files: bool = False
    precision: str = "auto"
    device: str = "auto"
    use_ocr: bool = True
    max_side: int | None = None  # None: DEFAULT_MAX_SIDE with OCR, MAX_SIDE_NO_OCR without
    loader_threads: int = 2
    checkpoint_seconds: float = 10.0
    journal_path: str | None = None  # None: default_journal_path(folder)
    # The alt text's language (engine.i18n: "zh_CN"); None: the app's language. Captions are translated
    # into it (engine.translation); the read text only with translate_text.
    language: str | None = None
    translate_text: bool = False


def record_settings(options: BatchOptions, language: str) -> str:
    """The settings besides model and detail that change what a record holds, as the journal compares
    them: a result made with OCR off, or in another language, is never reused for a run that asks
    otherwise (it is described again)."""
    import json

    # max_side None: the default size, which follows OCR (recorded already).
    return json.dumps({"ocr": bool(options.use_ocr), "language": language,
                       "translate_text": bool(options.translate_text), "max_side": options.max_side},
                      sort_keys=True)


@dataclass
class Progress:
    """A snapshot for progress displays (counts are of this run's work list)."""

    done: int  # images finished this run (described + failed)
    total: int  # images to do this run
    described: int
    failed: int
    skipped: int
    current: str  # the last file finished
    rate: float  # images per second this run
    eta_seconds: float | None
    elapsed: float

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 100.0


@dataclass
class BatchSummary:
    folder: str
    found: int = 0
    described: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    metadata_written: int = 0
    metadata_problems: list[tuple[str, str]] = field(default_factory=list)
    sidecars_written: int = 0
    sidecar_problems: list[tuple[str, str]] = field(default_factory=list)
    output_problems: list[str] = field(default_factory=list)
    output_notes: list[str] = field(default_factory=list)  # e.g. the user's edited results file kept aside
    left_out: list[str] = field(default_factory=list)  # images the scan could not take (HEIC without pillow-heif)
    out: str | None = None
    journal: str | None = None
    model_id: str | None = None
    cancelled: bool = False
    interrupted: bool = False
    elapsed: float = 0.0

    def lines(self) -> list[str]:
        """The summary as sentences (printed by the CLI, shown and spoken by the dialog)."""
        counts = ngettext(
            "{found} image found: {described} described, {skipped} already done (skipped), {failed} failed.",
            "{found} images found: {described} described, {skipped} already done (skipped), {failed} failed.",
            self.found,
        ).format(found=self.found, described=self.described, skipped=self.skipped, failed=len(self.failed))
        if self.cancelled or self.interrupted:
            counts = _("Stopped early. {counts}").format(counts=counts)
        lines = [counts]
        if not self.found and not self.left_out:
            lines.append(_("No images were found in {folder}.").format(folder=self.folder))
        if self.left_out:
            from describe_aloud.engine.batch_inputs import heif_note

            lines.append(heif_note(len(self.left_out)))
        lines.extend(outcome_lines(self.failed, self.metadata_written, self.metadata_problems,
                                   self.sidecars_written, self.sidecar_problems))
        lines.extend(self.output_problems)
        lines.extend(self.output_notes)
        if self.out and not self.output_problems:  # never "Results: X" right after "X could not be written"
            lines.append(_("Results: {path}").format(path=self.out))
        if self.cancelled or self.interrupted:
            lines.append(_("Run the same command again to continue where it stopped."))
        from describe_aloud.engine.text_safety import for_terminal

        # File names are any bytes: shown losslessly, never as terminal escape sequences.
        return [for_terminal(line, keep_newlines=False) for line in lines]

    def problem_lines(self) -> list[str]:
        """Those of `lines()` that say what failed or was not written."""
        return problem_lines(self.failed, self.metadata_problems, self.sidecar_problems)


def outcome_lines(failed: list[tuple[str, str]], metadata_written: int, metadata_problems: list[tuple[str, str]],
                  sidecars_written: int, sidecar_problems: list[tuple[str, str]]) -> list[str]:
    """What a batch did to the files, and each failure with its reason: the lines every batch summary
    (local or on Ray) says after its counts."""
    lines = []
    if metadata_written or metadata_problems:
        lines.append(ngettext("Alt text written into {written} file; {problems} not written.",
                              "Alt text written into {written} files; {problems} not written.",
                              metadata_written)
                     .format(written=metadata_written, problems=len(metadata_problems)))
    if sidecars_written or sidecar_problems:
        lines.append(ngettext("{written} sidecar file written; {problems} not written.",
                              "{written} sidecar files written; {problems} not written.", sidecars_written)
                     .format(written=sidecars_written, problems=len(sidecar_problems)))
    return lines + problem_lines(failed, metadata_problems, sidecar_problems)


def problem_lines(failed: list[tuple[str, str]], metadata_problems: list[tuple[str, str]],
                  sidecar_problems: list[tuple[str, str]]) -> list[str]:
    """Each file that failed, and each output not written, with its reason (the command line prints these
    on stderr, whatever the language). File names are any bytes: shown, never obeyed (as in `lines()`)."""
    from describe_aloud.engine.text_safety import for_terminal, printable_path

    lines = []
    for path, reason in failed:  # a reason naming the file names it readably (printable_path)
        lines.append(_("Failed: {reason}").format(reason=reason) if reason.startswith(printable_path(path))
                     else _("Failed: {path}: {reason}").format(path=path, reason=reason))
    lines += _grouped(metadata_problems, lambda: _("Metadata not written: {path}: {reason}"),
                      lambda n: ngettext("Metadata not written into {count} file ({reason}): {paths}",
                                         "Metadata not written into {count} files ({reason}): {paths}", n))
    lines += _grouped(sidecar_problems, lambda: _("Sidecar not written: {path}: {reason}"),
                      lambda n: ngettext("Sidecar not written for {count} file ({reason}): {paths}",
                                         "Sidecars not written for {count} files ({reason}): {paths}", n))
    return [for_terminal(line, keep_newlines=False) for line in lines]


# Files named in one line of the summary when many share a reason (the rest are counted): a folder of 34
# GIFs gave 34 identical sentences to listen to.
LISTED_FILES = 5


def _grouped(problems: list[tuple[str, str]], one: Callable[[], str], many: Callable[[int], str]) -> list[str]:
    """A line per reason (in the order first met): `one()` for a single file, `many(count)` for several."""
    by_reason: dict[str, list[str]] = {}
    for path, reason in problems:
        by_reason.setdefault(reason, []).append(path)
    return [one().format(path=paths[0], reason=reason) if len(paths) == 1
            else many(len(paths)).format(count=len(paths), reason=reason, paths=_listed(paths))
            for reason, paths in by_reason.items()]


def _listed(paths: list[str]) -> str:
    shown = ", ".join(paths[:LISTED_FILES])
    rest = len(paths) - LISTED_FILES
    if rest <= 0:
        return shown
    return ngettext("{files} and {count} more", "{files} and {count} more", rest).format(files=shown, count=rest)
