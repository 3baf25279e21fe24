"""The run folder of a Ray batch: one file per finished shard and a manifest that lists them.

    RESULTS.csv.parts/              (or the --out folder itself for Parquet: RESULTS.parquet/)
        part-000003-1f2e….jsonl     the records of one shard (or .parquet)
        _manifest.jsonl             one line per finished shard, appended after its file is in place
        _lock.sqlite                the run lock, and the hashes of the files we wrote (engine.journal)

Nothing lost, nothing twice: only the driver writes here. A shard's file is written whole to a temp file
and renamed into place (engine.metadata.atomic_write_bytes), then its manifest line is appended and
fsynced. A shard counts as finished only when both exist; a killed driver loses at most the shards it had
not finished, which the same command then does again and writes under the same name. The results file is
assembled from the finished shards in input order, so every image appears in it exactly once. Names start
with "_" so that Parquet readers (pyarrow.dataset, pandas, Spark) skip them.
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Iterable, Iterator

from describe_aloud.engine.metadata import atomic_write_bytes

MANIFEST_NAME = "_manifest.jsonl"
LOCK_NAME = "_lock.sqlite"


class RunFolder:
    def __init__(self, path: Path, *, parquet: bool = False) -> None:
        self.path = path
        self.parquet = parquet
        self.suffix = ".parquet" if parquet else ".jsonl"
        self.manifest = path / MANIFEST_NAME

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def shard_file(self, shard_id: str) -> Path:
        return self.path / f"part-{shard_id}{self.suffix}"

    def finished(self) -> set[str]:
        """IDs of the shards listed in the manifest whose file is in place (a torn last line is ignored)."""
        try:
            text = self.manifest.read_text(encoding="utf-8")
        except FileNotFoundError:
            return set()
        done = set()
        for line in text.splitlines():
            try:
                shard_id = json.loads(line)["shard"]
            except (ValueError, KeyError, TypeError):
                continue  # the driver died while appending this line: that shard is done again
            if self.shard_file(shard_id).is_file():
                done.add(shard_id)
        return done

    def write_shard(self, shard_id: str, records: list[dict]) -> None:
        """The shard's file, atomically; then its manifest line (the moment it counts as finished)."""
        atomic_write_bytes(self.shard_file(shard_id), self._encode(records))
        line = json.dumps({"shard": shard_id, "images": len(records),
                           "failed": sum(1 for r in records if r.get("status") == "failed")}) + "\n"
        with open(self.manifest, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def records(self, shard_ids: Iterable[str]) -> Iterator[dict]:
        """The records of these shards, in the order given."""
        for shard_id in shard_ids:
            yield from self._decode(self.shard_file(shard_id))

    def _encode(self, records: list[dict]) -> bytes:
        if not self.parquet:
            return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
        import pyarrow as pa
        import pyarrow.parquet as pq

        from describe_aloud.engine.outputs import FIELDS

        columns = {name: [_text(r.get(name)) for r in records] for name in FIELDS}
        buffer = io.BytesIO()
        pq.write_table(pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()}),
                       buffer)
        return buffer.getvalue()

    def _decode(self, path: Path) -> Iterator[dict]:
        if not self.parquet:
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        yield json.loads(line)
            return
        import pyarrow.parquet as pq

        yield from pq.read_table(path).to_pylist()


def _text(value) -> str:
    # Parquet columns get one type: width/height are "" for a failed image, so every column is text.
    return "" if value is None else str(value)
