"""Batch outputs, always rebuilt from the journal: CSV, JSON Lines, JSON, text sidecars, and the alt text.

Every file is written atomically (temp file in the same folder, fsync, os.replace), so a reader or a crash
never sees half a file. An existing file is only replaced when Describe Aloud wrote it: either its hash is
the one the journal recorded when we last wrote it, or it has our format (our CSV header, our JSON Lines
keys, our JSON "generator"). Anything else is left alone: the batch stops before describing anything
(results file) or skips and reports (text sidecar). So is a link or a pipe in an output's place: an output
is never read or written through a link (a folder from someone else may hold one to the user's own files).

Threading: plain functions; called from the batch thread.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
from pathlib import Path
from typing import Any, Iterable

from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.i18n import _
from describe_aloud.engine.journal import Entry, Journal
from describe_aloud.engine.metadata import atomic_write_bytes, text_sidecar_path
from describe_aloud.engine.safe_files import not_replaceable, open_regular
from describe_aloud.engine.text_safety import csv_cell, escaped

GENERATOR = "describe-aloud"
FIELDS = (
    "path", "status", "kind", "alt_text", "caption", "detailed_caption", "ocr_text", "model_id",
    "described_at", "width", "height", "error",
)
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "json"}


class OutputConflict(UserFacingError):
    """An output file exists and was not written by us."""

    exit_code = 2


def output_format(path: str | os.PathLike) -> str:
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise OutputConflict(  # a usage error (exit 2), like a folder or a foreign file in its place
            _("The results file {path!r} must end in .csv, .jsonl or .json.").format(path=str(path))
        )
    return fmt


def row_for(entry: Entry) -> dict[str, Any]:
    """One output row; every text encodable as UTF-8 (a non-UTF-8 file name as \\xNN, see text_safety)."""
    row = _row_for(entry)
    return {k: escaped(v) if isinstance(v, str) else v for k, v in row.items()}


def _row_for(entry: Entry) -> dict[str, Any]:
    d = entry.description or {}
    return {
        "path": entry.path,
        "status": "described" if entry.status == "done" else "failed",
        "kind": d.get("kind", ""),
        "alt_text": entry.alt_text or "",
        "caption": d.get("caption") or "",
        "detailed_caption": d.get("detailed_caption") or "",
        "ocr_text": d.get("text") or "",
        "model_id": entry.model_id or "",
        "described_at": entry.described_at,
        "width": d.get("width", ""),
        "height": d.get("height", ""),
        "error": entry.error or "",
    }


def render(fmt: str, rows: Iterable[dict[str, Any]], *, folder: str) -> bytes:
    rows = list(rows)
    if fmt == "csv":
        buf = io.StringIO(newline="")
        writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\r\n")
        writer.writeheader()
        # OCR text and file names are data, never formulas: see engine.text_safety.csv_cell.
        writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
        # UTF-8 with BOM so that spreadsheet programs show accents / CJK correctly.
        return ("\ufeff" + buf.getvalue()).encode("utf-8")
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    if fmt == "json":
        doc = {"generator": GENERATOR, "folder": escaped(folder), "images": rows}
        return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    raise ValueError(fmt)


def _looks_like_ours(path: Path, fmt: str) -> bool:
    try:
        with open_regular(path, follow_links=False) as fh:
            head = fh.read(1 << 16)
    except (OSError, UserFacingError):
        return False
    if not head.strip():
        return True  # an empty file holds nothing to lose
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    if fmt == "csv":
        return text.splitlines()[0] == ",".join(FIELDS)
    if fmt == "jsonl":
        try:
            first = json.loads(text.splitlines()[0])
        except ValueError:
            return False
        return isinstance(first, dict) and set(first) == set(FIELDS)
    return text.lstrip().startswith("{") and f'"generator": "{GENERATOR}"' in text[:200]


def check_output_writable(path: str | os.PathLike, journal: Journal) -> None:
    """Raise OutputConflict if `path` exists and is not ours (see the module docstring)."""
    path = output_path(path)
    if path.is_dir() and not path.is_symlink():
        raise OutputConflict(_("The results file {path!r} is a folder; choose a file name with --out.").format(path=str(path)))
    if (reason := not_replaceable(path)) is not None:
        raise OutputConflict(_("The results file {path!r} is {reason}, so it was left as it is. Choose another "
                               "name with --out, or move it away.").format(path=str(path), reason=reason))
    if not path.exists():
        return
    if journal.written_hash(str(path)) == _sha256_file(path) or _looks_like_ours(path, output_format(path)):
        return
    raise OutputConflict(
        _("The file {path!r} already exists and was not written by Describe Aloud, so it was left as "
          "it is. Choose another name with --out, or move that file away.").format(path=str(path))
    )


def output_path(path: str | os.PathLike) -> Path:
    """`path` absolute, its folders' links resolved (the journal's key for it) but not a link in its own
    place: that is refused (`not_replaceable`), never followed."""
    path = Path(path)
    return path.parent.resolve() / path.name


def _sha256_file(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with open_regular(path, follow_links=False) as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except (OSError, UserFacingError):
        return None
    return digest.hexdigest()


def write_results(path: str | os.PathLike, journal: Journal, *, folder: str,
                  only: set[str] | None = None, notes: list[str] | None = None) -> int:
    """Rebuild the results file from the journal (atomically). `only`: the relative paths found by this
    run's scan (a file since deleted, or outside a non-recursive run, is left out). Returns the row count.

    A results file the user edited since we wrote it (its hash is not the one recorded) is never lost:
    with nothing new to add it is left exactly as it is; otherwise it is first kept as
    `NAME.edited-<time>.EXT` next to it. Either way a sentence goes to `notes`."""
    path = output_path(path)
    check_output_writable(path, journal)
    rows = [row_for(e) for e in journal.entries() if only is None or e.path in only]
    data = render(output_format(path), rows, folder=folder)
    digest = hashlib.sha256(data).hexdigest()
    recorded = journal.written_hash(str(path))
    current = _sha256_file(path) if path.exists() else None
    if current is not None and recorded is not None and current != recorded:
        if digest == recorded:  # nothing new since our last write: the user's version stays
            _note(notes, _("{name} was changed since Describe Aloud wrote it and there is nothing new to "
                           "add, so it was left as it is.").format(name=path.name))
            return len(rows)
        kept = path.with_name(f"{path.stem}.edited-{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}")
        os.replace(path, kept)
        _note(notes, _("{name} was changed since Describe Aloud wrote it; that version is kept as "
                       "{kept}.").format(name=path.name, kept=kept.name))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    journal.set_written_hash(str(path), digest)
    return len(rows)


def _note(notes: list[str] | None, sentence: str) -> None:
    if notes is not None:
        notes.append(sentence)


def write_text_sidecar(image_path: Path, alt_text: str, journal: Journal) -> tuple[str, str]:
    """`IMG_1.jpg` -> `IMG_1.jpg.txt` holding the alt text. Returns (status, note); an existing file that
    we did not write is skipped and reported."""
    sidecar = text_sidecar_path(image_path)
    data = (escaped(alt_text) + "\n").encode("utf-8")
    if (reason := not_replaceable(sidecar)) is not None:
        return "failed", _("{name} is {reason}; left as it is").format(name=sidecar.name, reason=reason)
    try:
        if sidecar.exists():
            current = _sha256_file(sidecar)
            if current != journal.written_hash(str(output_path(sidecar))):
                return "failed", f"{sidecar.name} already exists and was not written by Describe Aloud; left as it is"
        atomic_write_bytes(sidecar, data)
    except OSError as exc:
        return "failed", f"{sidecar.name} could not be written: {exc.strerror or exc}"
    journal.set_written_hash(str(output_path(sidecar)), hashlib.sha256(data).hexdigest())
    return "written", ""
