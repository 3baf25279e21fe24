"""The batch journal: the source of truth for what has been described in a folder.

A SQLite database in WAL mode with `synchronous=FULL`, so a committed batch survives Ctrl+C, SIGKILL and a
power cut. One row per image, keyed by its path relative to the folder; the row also stores the file's
size, modification time (ns) and, when asked, its SHA-256. A row counts as done only while all of these
still match the file on disk (and the model, detail and the other settings that change a record, see
batch_types.record_settings, are the same), so a changed file or setting means the image is described again and a result is never duplicated (the path is the primary key).

A journal found in a folder can also come with the folder (an archive, a share), and what it says was done
is trusted: its alt text is reused and written. So each journal carries its maker's mark (`owner_token`: an
HMAC under a random key kept in the user's private data folder); engine.journal_repair.open_journal sets a
journal without this user's mark aside and starts a new one.

Threading: a Journal (one sqlite3 connection) is used by the one thread that opened it.
"""
from __future__ import annotations

import errno
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from describe_aloud.engine.i18n import _

JOURNAL_NAME = ".describe-aloud-journal.sqlite"
OWNER_KEY_FILE = "journal-owner.key"
log = logging.getLogger(__name__)
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    path TEXT PRIMARY KEY,          -- relative to the folder, '/' separators
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT,
    status TEXT NOT NULL,           -- 'done' | 'failed'
    model_id TEXT,
    detail INTEGER NOT NULL DEFAULT 0,
    description TEXT,               -- Description.to_dict() as JSON
    alt_text TEXT,
    error TEXT,                     -- why it failed (a sentence for the user)
    described_at TEXT NOT NULL,     -- ISO 8601, UTC
    metadata_status TEXT,           -- 'written' | 'unsupported' | 'failed' | NULL (not asked)
    metadata_note TEXT,
    sidecar_status TEXT,
    sidecar_note TEXT,
    settings TEXT                   -- OCR, language... it was described with (NULL: not recorded)
);
-- Files we wrote (outputs, text sidecars) with the hash of what we wrote: we only overwrite our own.
CREATE TABLE IF NOT EXISTS written_files (path TEXT PRIMARY KEY, sha256 TEXT NOT NULL);
"""


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    from describe_aloud.engine.safe_files import open_regular

    h = hashlib.sha256()
    with open_regular(path) as fh:  # never blocks on a FIFO that has an image's name
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class FileKey:
    """What identifies one version of a file."""

    size: int
    mtime_ns: int
    sha256: str | None = None

    @classmethod
    def of(cls, path: str | os.PathLike, *, with_hash: bool = False) -> "FileKey":
        st = os.stat(path)
        return cls(st.st_size, st.st_mtime_ns, file_sha256(path) if with_hash else None)


@dataclass
class Entry:
    path: str
    key: FileKey
    status: str
    model_id: str | None = None
    detail: bool = False
    description: dict[str, Any] | None = None
    alt_text: str | None = None
    error: str | None = None
    described_at: str = ""
    metadata_status: str | None = None
    metadata_note: str | None = None
    sidecar_status: str | None = None
    sidecar_note: str | None = None
    settings: str | None = None  # batch_types.record_settings() of the run that described it


def default_journal_path(folder: str | os.PathLike, *, in_folder: bool = True) -> Path:
    """`FOLDER/.describe-aloud-journal.sqlite`, or, when the folder cannot be written (a read-only share,
    a CD) or `in_folder` is False, a file in the app's data folder named after the folder's absolute path."""
    folder = Path(folder).resolve()
    if in_folder and os.access(folder, os.W_OK):
        return folder / JOURNAL_NAME
    from describe_aloud.engine.config import data_dir, private_dir

    digest = hashlib.sha256(os.fsencode(folder)).hexdigest()[:16]
    return private_dir(data_dir()) / "batch-journals" / f"{digest}.sqlite"


class JournalDamaged(Exception):
    """The journal file exists but is not a readable SQLite database (engine.journal_repair recovers it)."""


class JournalBusy(Exception):
    """Another process is running a batch on the same journal."""


class _RunLock:
    """An exclusive advisory lock on `<journal>.lock`, held while a batch runs. The OS releases it when the
    process dies (even by SIGKILL), so a killed run never blocks the next one."""

    def __init__(self, path: Path) -> None:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        self._fh = os.fdopen(os.open(path, flags, 0o600), "a+b")  # a link in its place: ELOOP, never followed
        try:
            if os.name == "nt":  # pragma: no cover - Windows
                import msvcrt

                self._fh.seek(0)
                msvcrt.locking(self._fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._fh.close()
            raise JournalBusy(str(path)) from None

    def release(self) -> None:
        self._fh.close()  # closing the file releases the lock


def _refuse_links(path: Path) -> None:
    """SQLite follows a link in the journal's place, or in its -wal / -shm files' places, and writes there: a
    folder from someone else could point them at the user's history or any file. OSError (the batch then
    keeps its journal in the data folder instead)."""
    for name in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal", ".lock"))):
        if name.is_symlink():
            raise OSError(errno.ELOOP, _("{name} is a link, which Describe Aloud does not write through").format(
                name=name.name))


class Journal:
    """See the module docstring. Use as a context manager or call close().

    `exclusive=True` also takes the run lock: a second batch on the same folder raises JournalBusy
    instead of describing the same files twice."""

    def __init__(self, path: str | os.PathLike, *, exclusive: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _refuse_links(self.path)
        self._lock = _RunLock(self.path.with_name(self.path.name + ".lock")) if exclusive else None
        db: sqlite3.Connection | None = None
        try:
            self._db = db = sqlite3.connect(str(self.path), isolation_level=None)
            self._db.execute("PRAGMA busy_timeout=5000")
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"WAL mode is not available here (got {mode})")
            self._db.execute("PRAGMA synchronous=FULL")
            self._check_intact()
            self._db.executescript(_SCHEMA)
            self._add_settings_column()
            self._db.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            if self.is_empty() and (token := owner_token()) is not None:
                self.set_owner(token)  # a new journal is this user's
        except BaseException as exc:
            if db is not None:
                db.close()
            if self._lock is not None:
                self._lock.release()
            if type(exc) is sqlite3.DatabaseError:  # "not a database", "malformed": not locked / read-only
                raise JournalDamaged(f"{self.path}: {exc}") from exc
            raise

    def _add_settings_column(self) -> None:
        """A journal made before `settings` existed gets the column (its rows: NULL, described again)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(entries)")}
        self.upgraded = "settings" not in columns  # made by an older version (see adopt_earlier_alt_text)
        if self.upgraded:
            self._db.execute("ALTER TABLE entries ADD COLUMN settings TEXT")

    def is_empty(self) -> bool:
        return not any(self._db.execute("SELECT 1 FROM entries UNION ALL SELECT 1 FROM written_files LIMIT 1"))

    def owner(self) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'owner'").fetchone()
        return row[0] if row else None

    def set_owner(self, token: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('owner', ?)", (token,))

    def _check_intact(self) -> None:
        """Raise sqlite3.DatabaseError when the file is damaged (also pages a plain open does not read)."""
        problems = [row[0] for row in self._db.execute("PRAGMA quick_check(5)").fetchall()]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError("; ".join(str(p) for p in problems))

    # -- context manager ------------------------------------------------------------------------
    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # -- reading --------------------------------------------------------------------------------
    def get(self, path: str) -> Entry | None:
        row = self._db.execute("SELECT * FROM entries WHERE path = ?", (_path_key(path),)).fetchone()
        return self._entry(row) if row else None

    def entries(self, status: str | None = None) -> Iterator[Entry]:
        """All rows sorted by path (optionally only one status)."""
        if status:
            rows = self._db.execute("SELECT * FROM entries WHERE status = ? ORDER BY path", (status,))
        else:
            rows = self._db.execute("SELECT * FROM entries ORDER BY path")
        for row in rows:
            yield self._entry(row)

    def is_done(self, path: str, key: FileKey, *, model_id: str | None = None, detail: bool | None = None,
                settings: str | None = None) -> bool:
        """True when `path` was described with this exact file version (and model / detail / settings,
        when given)."""
        entry = self.get(path)
        if entry is None or entry.status != "done":
            return False
        if (entry.key.size, entry.key.mtime_ns) != (key.size, key.mtime_ns):
            return False
        if key.sha256 is not None and entry.key.sha256 != key.sha256:
            return False  # content changed, or never hashed: describe again
        if model_id is not None and entry.model_id != model_id:
            return False
        if detail is not None and bool(entry.detail) != bool(detail):
            return False
        if settings is not None and entry.settings != settings:
            return False  # other OCR / language / translation settings: that record is not this run's
        return True

    def counts(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT status, COUNT(*) FROM entries GROUP BY status").fetchall())

    # -- writing (each call is one durable transaction) ---------------------------------------
    def record(self, entries: list[Entry]) -> None:
        """Insert or replace rows in one transaction (one batch = one fsync)."""
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO entries (path, size, mtime_ns, sha256, status, model_id, detail, "
                "description, alt_text, error, described_at, metadata_status, metadata_note, sidecar_status, "
                "sidecar_note, settings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [self._row(e) for e in entries],
            )

    def update_file_state(self, path: str, *, key: FileKey | None = None, **fields: Any) -> None:
        """Update a row after a side effect (metadata written: new size; sidecar written...)."""
        allowed = {"metadata_status", "metadata_note", "sidecar_status", "sidecar_note"}
        sets, values = [], []
        for name, value in fields.items():
            if name not in allowed:
                raise ValueError(name)
            sets.append(f"{name} = ?")
            values.append(value)
        if key is not None:
            sets += ["size = ?", "mtime_ns = ?", "sha256 = ?"]
            values += [key.size, key.mtime_ns, key.sha256]
        if not sets:
            return
        with self._transaction():
            values = [_storable(v) if isinstance(v, str) else v for v in values]
            self._db.execute(f"UPDATE entries SET {', '.join(sets)} WHERE path = ?", (*values, _path_key(path)))

    def written_hash(self, path: str) -> str | None:
        row = self._db.execute("SELECT sha256 FROM written_files WHERE path = ?", (_path_key(path),)).fetchone()
        return row[0] if row else None

    def set_written_hash(self, path: str, sha256: str) -> None:
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO written_files(path, sha256) VALUES (?, ?)",
                            (_path_key(path), sha256))

    # -- helpers --------------------------------------------------------------------------------
    def _transaction(self):
        db = self._db

        class _Tx:
            def __enter__(self_inner):
                if db.in_transaction:
                    # Ctrl+C / SIGTERM (raised as KeyboardInterrupt) landed between an earlier BEGIN and the
                    # `with` taking over, so no __exit__ ended it: drop that half-done write, then go on (the
                    # results file is still to be written on the way out).
                    db.execute("ROLLBACK")
                db.execute("BEGIN IMMEDIATE")

            def __exit__(self_inner, exc_type, *_):
                db.execute("ROLLBACK" if exc_type else "COMMIT")

        return _Tx()

    @staticmethod
    def _row(e: Entry) -> tuple:
        text = _storable
        return (
            _path_key(e.path), e.key.size, e.key.mtime_ns, e.key.sha256, e.status, e.model_id, int(bool(e.detail)),
            _description_json(e.description) if e.description is not None else None,
            text(e.alt_text), text(e.error), e.described_at or utc_now(), e.metadata_status, text(e.metadata_note),
            e.sidecar_status, text(e.sidecar_note), e.settings,
        )

    @staticmethod
    def _entry(row: tuple) -> Entry:
        (path, size, mtime_ns, sha, status, model_id, detail, description, alt_text, error, described_at,
         metadata_status, metadata_note, sidecar_status, sidecar_note) = row[:15]
        settings = row[15] if len(row) > 15 else None  # a journal read before the column was added
        return Entry(
            path=_path_from_key(path), key=FileKey(size, mtime_ns, sha), status=status, model_id=model_id, detail=bool(detail),
            description=json.loads(description) if description else None, alt_text=alt_text, error=error,
            described_at=described_at, metadata_status=metadata_status, metadata_note=metadata_note,
            sidecar_status=sidecar_status, sidecar_note=sidecar_note, settings=settings,
        )


def _path_key(path: str) -> str | bytes:
    """How a path is stored: as text, or, when the file name is not valid UTF-8 (it then holds lone
    surrogates, PEP 383), as its exact bytes (a BLOB), so the same file is found again and nothing is lost."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


def _path_from_key(key: str | bytes) -> str:
    return os.fsdecode(key) if isinstance(key, bytes) else key


def _description_json(description: dict[str, Any]) -> str:
    """JSON text for SQLite; a lone surrogate (a non-UTF-8 file name quoted) as a JSON \\u escape, which
    json.loads turns back into the same string."""
    text = json.dumps(description, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(description)
    return text


def _storable(text: str | None) -> str | None:
    """Messages and descriptions may quote a non-UTF-8 file name: stored in its escaped, readable form."""
    if text is None:
        return None
    from describe_aloud.engine.text_safety import escaped

    return escaped(text)


def owner_token() -> str | None:
    """This user's mark on the journals the app makes here (see the module docstring); None when no key can
    be kept (a data folder that cannot be written): then journals are trusted as before."""
    from describe_aloud.engine.config import data_dir, private_dir

    try:
        path = private_dir(data_dir()) / OWNER_KEY_FILE
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except FileExistsError:
            key = path.read_bytes()
        else:
            key = secrets.token_bytes(32)
            with os.fdopen(fd, "wb") as fh:
                fh.write(key)
        if len(key) < 16:  # another process is writing it this moment, or a crash cut it short
            time.sleep(0.2)
            key = path.read_bytes()
            if len(key) < 16:
                key = secrets.token_bytes(32)
                path.write_bytes(key)
    except OSError:
        log.info("no journal owner key: batch journals are trusted as they are", exc_info=True)
        return None
    return hmac.new(key, b"describe-aloud batch journal", "sha256").hexdigest()
