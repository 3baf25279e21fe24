"""A damaged batch journal: kept aside, what can be read is saved, and the user is told.

A journal can be damaged by a disk error, a copy cut short, or another program writing into it. Before,
a damaged journal silently restarted the whole batch, and the results file rebuilt from the new journal
lost the rows of everything described before (an audit saw 72 of 200 rows left). Now:

1. `Journal` checks the file when it opens it (`PRAGMA quick_check`) and raises `JournalDamaged`
   (a file that is not a database at all, or one with a valid header and damaged pages).
2. `salvage` renames it (with its -wal / -shm files) to `<name>.damaged-<time>`, reads every row that can
   still be read from that copy, and records them in a fresh journal at the old place: those images are
   not described again.
3. The batch keeps the existing results file aside before rebuilding it (see engine.batch), and says all
   of this in its summary.

Threading: called on the batch thread, before the run starts.
"""
from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from describe_aloud.engine.i18n import _
from describe_aloud.engine.journal import Journal, JournalDamaged

log = logging.getLogger(__name__)

_MAX_MISSES = 10_000  # rowids probed past an unreadable one before giving up


@dataclass
class Salvage:
    kept_as: Path
    recovered: int


def stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def set_aside(path: Path, why: str = "damaged") -> Path:
    """Rename the journal and its WAL / shared-memory files to `<name>.<why>-<time>`; returns the new path."""
    kept = path.with_name(f"{path.name}.{why}-{stamp()}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(path) + suffix)
        if src.exists():
            os.replace(src, Path(str(kept) + suffix))
    return kept


def readable_rows(path: Path) -> list[tuple]:
    """Every row of `entries` that can still be read, in rowid order; [] when none can."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return []
    rows: list[tuple] = []
    try:
        last = 0
        misses = 0
        while misses < _MAX_MISSES:
            try:
                row = db.execute("SELECT rowid, * FROM entries WHERE rowid > ? ORDER BY rowid LIMIT 1",
                                 (last,)).fetchone()
            except sqlite3.DatabaseError:
                last += 1  # step over the damaged page's rows one by one
                misses += 1
                continue
            if row is None:
                break
            last, misses = row[0], 0
            rows.append(tuple(row[1:]))
    except sqlite3.Error:
        pass
    finally:
        db.close()
    return rows


def salvage(path: Path) -> Salvage:
    """Set the damaged journal at `path` aside and start a new one there holding every readable row."""
    kept = set_aside(path)
    rows = readable_rows(kept)
    entries = []
    for row in rows:
        try:
            entries.append(Journal._entry(row))
        except Exception:  # noqa: BLE001 - a row damaged inside: that image is described again
            log.debug("unreadable journal row skipped", exc_info=True)
    with Journal(path) as fresh:
        if entries:
            fresh.set_owner(_readable_owner(kept) or "")  # as trusted as the damaged one was
            fresh.record(entries)
    log.warning("damaged journal kept as %s; %d rows recovered", kept, len(entries))
    return Salvage(kept, len(entries))


def _readable_owner(path: Path) -> str | None:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'owner'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def _made_here(journal: Journal, notes: list[str]) -> Journal:
    """`journal` when this user's app made it (or it is empty); else it is set aside and a new one started:
    a journal that came with the folder (an archive, a share) would have its alt text trusted and written.
    Journals of the versions between the settings column and the mark are set aside too (their images are
    described once more)."""
    from describe_aloud.engine.journal import owner_token

    from describe_aloud.engine.config import data_dir

    token = owner_token()
    private = data_dir().resolve() in journal.path.resolve().parents  # no one else writes there
    # A journal older than the settings column (`upgraded`) has no row that counts as done (their settings
    # are unknown, they are described again); it only lets alt text it wrote be replaced: kept, and marked.
    if token is None or journal.owner() == token or journal.is_empty() or private or journal.upgraded:
        if token is not None and journal.owner() != token:
            journal.set_owner(token)
        return journal
    path = journal.path
    journal.close()
    kept = set_aside(path, "foreign")
    log.warning("journal not made here kept as %s", kept)
    notes.append(_("The folder's batch journal was not made by Describe Aloud for you on this computer, so "
                   "what it says was done is not trusted: it was kept as {name} and the images are described "
                   "again.").format(name=kept.name))
    fresh = Journal(path, exclusive=True)
    return fresh


def open_journal(path: Path, *, out: str | None = None, notes: list[str]) -> Journal:
    """The run's journal (exclusive); a damaged one is salvaged first, the results file `out` is copied
    aside before it is rebuilt, and `notes` gets the sentences that say so."""
    from describe_aloud.engine.journal import _RunLock

    try:
        return _made_here(Journal(path, exclusive=True), notes)
    except JournalDamaged:
        pass
    lock = _RunLock(path.with_name(path.name + ".lock"))  # a second run is told "busy" meanwhile
    try:
        rescued = salvage(path)
    finally:
        lock.release()
    notes.append(_(
        "The batch journal was damaged; it was kept as {name} and {count} finished results were recovered "
        "from it. Images not recovered are described again."
    ).format(name=rescued.kept_as.name, count=rescued.recovered))
    from describe_aloud.engine.outputs import output_path
    from describe_aloud.engine.safe_files import not_replaceable

    results = output_path(out) if out else None
    if results is not None and results.is_file() and not_replaceable(results) is None:
        kept = results.with_name(f"{results.stem}.before-repair-{stamp()}{results.suffix}")
        shutil.copy2(results, kept)
        notes.append(_("The results file as it was before is kept as {name}.").format(name=kept.name))
    return _made_here(Journal(path, exclusive=True), notes)
