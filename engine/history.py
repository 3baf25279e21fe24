"""The history of past descriptions, kept across restarts in the user's data folder (SQLite).

Each entry holds: id, time (seconds since the epoch, UTC), source ("screen", a file path, "clipboard"...),
kind (photo / screen / document / blank), the spoken text and the text shown (both made by engine.render),
the full Description as JSON, and a small PNG thumbnail of the image (or none).

Threading contract: one `HistoryStore` may be used from any thread; calls are serialised by a lock (the
app writes from the GUI thread, which is fine: an insert is a few milliseconds). Several processes may
open the same file (the app and `python main.py history`): SQLite's WAL mode lets them read while the
app writes.
"""
from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from describe_aloud.engine.config import data_dir, private_dir
from describe_aloud.engine import render
from describe_aloud.engine.description import Description

HISTORY_FILE = "history.sqlite3"
THUMBNAIL_SIZE = 160  # longest side, pixels
# The oldest entries beyond this are removed, so the file never grows without bound.
DEFAULT_MAX_ENTRIES = 2000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '{}',
    thumbnail BLOB,
    display TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS entries_time ON entries(time);
-- Questions asked about an entry's image and their answers (engine.ask), in the order asked. Added after
-- the first release: CREATE ... IF NOT EXISTS adds it to an older file without touching its entries.
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id INTEGER NOT NULL,
    time REAL NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL DEFAULT '{}',
    speech TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS answers_entry ON answers(entry_id, id);
"""
# Files made before a column existed get it added (SQLite has no ADD COLUMN IF NOT EXISTS).
_ADDED_COLUMNS = {"display": "TEXT NOT NULL DEFAULT ''"}


def history_path() -> Path:
    """Where the history lives (read from the environment at call time, so tests can isolate it)."""
    return data_dir() / HISTORY_FILE


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    time: float
    source: str
    kind: str
    text: str
    description: dict[str, Any]
    thumbnail: bytes | None = None
    display: str = ""  # the text as shown, one part per line ("" in entries older than this column)

    @property
    def display_text(self) -> str:
        return self.display or self.text

    def to_description(self) -> Description | None:
        """The stored Description, or None when the stored JSON is not one (an older or damaged row)."""
        try:
            return Description.from_dict(self.description)
        except (KeyError, TypeError, ValueError):
            return None

    def to_dict(self, *, include_thumbnail: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "time": self.time,
            "time_iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.time)),
            "source": self.source,
            "kind": self.kind,
            "text": self.text,
            "description": self.description,
        }
        if include_thumbnail:
            data["thumbnail_png_bytes"] = len(self.thumbnail or b"")
        return data


def make_thumbnail(image: Any, size: int = THUMBNAIL_SIZE) -> bytes | None:
    """A PNG thumbnail (longest side `size`) of a PIL image, or None when it cannot be made."""
    if image is None:
        return None
    try:
        thumb = image.copy()
        if thumb.mode not in ("RGB", "RGBA", "L"):
            thumb = thumb.convert("RGBA" if "A" in thumb.getbands() else "RGB")
        thumb.thumbnail((size, size))
        buffer = io.BytesIO()
        thumb.save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()
    except (OSError, ValueError, AttributeError):
        # A thumbnail is a nicety: the description itself is still recorded.
        return None


def _readable_by_user_only(path: Path) -> None:
    """The history file (made if missing) and SQLite's files beside it: 0600. SQLite gives the -wal and -shm
    files it makes later the database's own mode."""
    if os.name != "posix" or str(path) == ":memory:" or str(path).startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600))
    except OSError:
        return  # sqlite3 says what is wrong with it, in the words the app already reports
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            info = name.lstat()
            if info.st_uid == os.getuid() and not stat.S_ISLNK(info.st_mode) and info.st_mode & 0o077:
                name.chmod(0o600)
        except OSError:
            pass


class HistoryStore:
    """Past descriptions in an SQLite file. Open once, use from any thread, `close()` at the end."""

    def __init__(self, path: Path | None = None, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.path = Path(path) if path else history_path()
        self.max_entries = max_entries
        if self.path.parent == data_dir():
            private_dir(self.path.parent)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        _readable_by_user_only(self.path)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=10)
        self._conn.row_factory = sqlite3.Row
        with self._lock, self._conn:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(_SCHEMA)
            present = {row[1] for row in self._conn.execute("PRAGMA table_info(entries)")}
            for column, declaration in _ADDED_COLUMNS.items():
                if column not in present:
                    self._conn.execute(f"ALTER TABLE entries ADD COLUMN {column} {declaration}")

    # Writing ---------------------------------------------------------------------------------------
    def add(
        self,
        description: Description,
        *,
        source: str | None = None,
        image: Any = None,
        thumbnail: bytes | None = None,
        rendering: render.Rendering | None = None,
        when: float | None = None,
    ) -> HistoryEntry:
        """Record one description. `image` (a PIL image) is turned into a thumbnail unless `thumbnail`
        (PNG bytes) is given. `rendering` (what was said and shown) defaults to the description's."""
        if thumbnail is None and image is not None:
            thumbnail = make_thumbnail(image)
        source = source if source is not None else (description.source or "")
        rendering = rendering if rendering is not None else render.describe(description)
        when = time.time() if when is None else when
        payload = json.dumps(description.to_dict(), ensure_ascii=False)
        text, display = rendering.speech, rendering.display
        with self._lock, self._conn:
            cursor = self._conn.execute(
                "INSERT INTO entries (time, source, kind, text, description, thumbnail, display) "
                "VALUES (?,?,?,?,?,?,?)",
                (when, source, description.kind.value, text, payload, thumbnail, display),
            )
            entry_id = int(cursor.lastrowid)
            self._prune()
        return HistoryEntry(entry_id, when, source, description.kind.value, text,
                            json.loads(payload), thumbnail, display)

    def add_detail(self, entry_id: int, detail: Description, rendering: render.Rendering) -> None:
        """Add "more detail" to an entry: the detailed caption and objects join the description kept there
        (its kind, caption, read text and model stay), and what is said becomes `rendering`."""
        added = detail.to_dict()
        with self._lock, self._conn:
            row = self._conn.execute("SELECT description FROM entries WHERE id=?", (entry_id,)).fetchone()
            if row is None:
                return
            try:
                stored = json.loads(row["description"] or "{}")
            except ValueError:
                stored = {}
            if not isinstance(stored, dict) or "kind" not in stored:
                stored = added  # nothing usable was kept: the detail is what there is
            else:
                for key in ("detailed_caption", "objects"):
                    if added.get(key):
                        stored[key] = added[key]
            self._conn.execute(
                "UPDATE entries SET text=?, display=?, description=? WHERE id=?",
                (rendering.speech, rendering.display, json.dumps(stored, ensure_ascii=False), entry_id),
            )

    def add_answer(self, entry_id: int, question: str, answer: dict[str, Any], speech: str,
                   *, when: float | None = None) -> None:
        """Keep a question and its answer (`Answer.to_dict()`, and what was said) with an entry."""
        payload = json.dumps(answer, ensure_ascii=False)
        with self._lock, self._conn:
            self._conn.execute("INSERT INTO answers (entry_id, time, question, answer, speech) VALUES (?,?,?,?,?)",
                               (entry_id, time.time() if when is None else when, question, payload, speech))

    def answers(self, entry_id: int) -> list[dict[str, Any]]:
        """The questions asked about an entry, oldest first: dicts with question, answer (dict), speech, time."""
        with self._lock:
            rows = self._conn.execute("SELECT * FROM answers WHERE entry_id=? ORDER BY id", (entry_id,)).fetchall()
        out = []
        for row in rows:
            try:
                answer = json.loads(row["answer"] or "{}")
            except ValueError:
                answer = {}
            out.append({"question": row["question"], "answer": answer if isinstance(answer, dict) else {},
                        "speech": row["speech"], "time": float(row["time"])})
        return out

    def conversation(self, entry_id: int) -> list[tuple[str, Any]]:
        """The questions asked about an entry with their answers (engine.ask.Answer), oldest first: what
        render.conversation shows (the Ask dialog, the History window, the history command)."""
        from describe_aloud.engine.ask import Answer  # no model code: the Answer record only

        turns = []
        for row in self.answers(entry_id):
            try:
                turns.append((row["question"], Answer.from_dict(row["answer"])))
            except (KeyError, TypeError, ValueError):  # a damaged row: the other answers still show
                continue
        return turns

    def delete(self, entry_id: int) -> None:
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM entries WHERE id=?", (entry_id,))
            self._conn.execute("DELETE FROM answers WHERE entry_id=?", (entry_id,))

    def restore(self, entry: HistoryEntry, answers: Sequence[dict[str, Any]] = ()) -> None:
        """Put back an entry deleted a moment ago (History's Undo), with its id, time and questions."""
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO entries (id, time, source, kind, text, description, thumbnail, display) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (entry.id, entry.time, entry.source, entry.kind, entry.text,
                 json.dumps(entry.description, ensure_ascii=False), entry.thumbnail, entry.display),
            )
            for answer in answers:
                self._conn.execute(
                    "INSERT INTO answers (entry_id, time, question, answer, speech) VALUES (?,?,?,?,?)",
                    (entry.id, answer["time"], answer["question"],
                     json.dumps(answer["answer"], ensure_ascii=False), answer["speech"]))

    def clear(self) -> None:
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM entries")
            self._conn.execute("DELETE FROM answers")

    def _prune(self) -> None:
        # Caller holds the lock and the transaction.
        self._conn.execute(
            "DELETE FROM entries WHERE id NOT IN (SELECT id FROM entries ORDER BY time DESC, id DESC LIMIT ?)",
            (self.max_entries,),
        )
        self._conn.execute("DELETE FROM answers WHERE entry_id NOT IN (SELECT id FROM entries)")

    # Reading ---------------------------------------------------------------------------------------
    def get(self, entry_id: int) -> HistoryEntry | None:
        rows = self._query("SELECT * FROM entries WHERE id=?", (entry_id,))
        return rows[0] if rows else None

    def latest(self) -> HistoryEntry | None:
        rows = self.recent(1)
        return rows[0] if rows else None

    def recent(self, limit: int = 100) -> list[HistoryEntry]:
        """Newest first."""
        return self._query("SELECT * FROM entries ORDER BY time DESC, id DESC LIMIT ?", (limit,))

    def search(self, query: str, limit: int = 100) -> list[HistoryEntry]:
        """Entries whose text, source or questions and answers contain every word of `query`
        (case-insensitive), newest first.
        An empty query returns the most recent entries."""
        words = [w for w in query.split() if w]
        if not words:
            return self.recent(limit)
        clauses = []
        params: list[Any] = []
        for word in words:
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            # The questions asked about an entry and what was answered are found too.
            clauses.append("(text LIKE ? ESCAPE '\\' OR source LIKE ? ESCAPE '\\' OR id IN (SELECT entry_id "
                           "FROM answers WHERE question LIKE ? ESCAPE '\\' OR speech LIKE ? ESCAPE '\\'))")
            params += [pattern, pattern, pattern, pattern]
        sql = f"SELECT * FROM entries WHERE {' AND '.join(clauses)} ORDER BY time DESC, id DESC LIMIT ?"
        return self._query(sql, (*params, limit))

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    def _query(self, sql: str, params: tuple) -> list[HistoryEntry]:
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [_entry_from_row(row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "HistoryStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _entry_from_row(row: sqlite3.Row) -> HistoryEntry:
    try:
        description = json.loads(row["description"] or "{}")
    except ValueError:
        description = {}
    return HistoryEntry(
        id=int(row["id"]),
        time=float(row["time"]),
        source=row["source"] or "",
        kind=row["kind"] or "",
        text=row["text"] or "",
        description=description if isinstance(description, dict) else {},
        thumbnail=bytes(row["thumbnail"]) if row["thumbnail"] is not None else None,
        display=row["display"] or "",
    )
