"""What the model store knows from the local disk alone: names, where a model lives in the hub cache,
whether its copy is complete (the one answer to that question: the captioner loader asks it too), how big
it is, and removing it. Never touches the network.

Threading contract: every function here blocks on the file system and must not run on a GUI thread."""
from __future__ import annotations

import dataclasses
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from describe_aloud.engine.catalog import CATALOG, CatalogEntry, catalog_entry
from describe_aloud.engine.config import hub_cache_dir
from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.i18n import _

REVISION = "main"
HF_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+$")
SAFETENSORS_SUFFIX = ".safetensors"
PYTORCH_BIN_PATTERN = re.compile(r"^pytorch_model(-\d+-of-\d+)?\.bin$")
PYTORCH_BIN_INDEX = "pytorch_model.bin.index.json"


@dataclass(frozen=True)
class ModelStatus:
    """What the store knows about one model, from the local disk only (never the network)."""

    hf_id: str
    entry: CatalogEntry | None
    downloaded: bool
    size_on_disk_bytes: int
    partial_bytes: int = 0  # bytes of interrupted downloads waiting to be resumed
    snapshot_path: Path | None = None

    @property
    def name(self) -> str:
        """The catalog name, or the Hugging Face id for a model outside the catalog."""
        return self.entry.name if self.entry else self.hf_id

    def to_dict(self) -> dict:
        """A JSON-ready dict (the schema of `models list --json`)."""
        entry = self.entry
        return {
            "name": self.name,
            "hf_id": self.hf_id,
            "in_catalog": entry is not None,
            "family": entry.family if entry else None,
            "params_m": entry.params_m if entry else None,
            "download_size_bytes": entry.size_mb * 1_000_000 if entry else None,
            "license": entry.license if entry else None,
            "capabilities": sorted(entry.capabilities) if entry else [],
            "note": entry.note if entry else "",
            "downloaded": self.downloaded,
            "size_on_disk_bytes": self.size_on_disk_bytes,
            "partial_bytes": self.partial_bytes,
            "path": str(self.snapshot_path) if self.snapshot_path else None,
        }


# --------------------------------------------------------------------------------------------- names


def catalog_names() -> list[str]:
    return [entry.name for entry in CATALOG]


def resolve_name(name_or_id: str) -> str:
    """The Hugging Face id for a catalog name or an `org/name` id.

    Raises UserFacingError, listing the catalog names, for anything else."""
    text = (name_or_id or "").strip()
    entry = catalog_entry(text)
    if entry:
        return entry.hf_id
    if HF_ID_PATTERN.match(text) and "--" not in text and ".." not in text:
        return text
    raise UserFacingError(
        _("There is no model called {text!r}. Known models: {items}. You can also give a Hugging "
          "Face id such as microsoft/git-base-coco.").format(text=text, items=', '.join(catalog_names()))
    )


def display_name(hf_id: str) -> str:
    entry = catalog_entry(hf_id)
    return entry.name if entry else hf_id


# --------------------------------------------------------------------------------------- local state


def repo_folder(hf_id: str, cache_dir: Path | None = None) -> Path:
    """The hub cache folder of a model repo (`models--org--name`)."""
    cache_dir = cache_dir or hub_cache_dir()
    return cache_dir / ("models--" + hf_id.replace("/", "--"))


def _current_snapshot(folder: Path) -> Path | None:
    """The snapshot `refs/main` points at, else the most recent snapshot folder, else None."""
    ref = folder / "refs" / REVISION
    try:
        commit = ref.read_text(encoding="utf-8").strip()
    except OSError:
        commit = ""
    if commit and (folder / "snapshots" / commit).is_dir():
        return folder / "snapshots" / commit
    try:
        snapshots = [p for p in (folder / "snapshots").iterdir() if p.is_dir()]
    except OSError:
        return None
    return max(snapshots, key=lambda p: p.stat().st_mtime, default=None)


def _weights_complete(snapshot: Path) -> bool:
    """True when the snapshot holds a config and every weight file it names (shards included).

    `exists()` follows symlinks, so a snapshot entry whose blob was deleted counts as missing."""
    if not (snapshot / "config.json").exists():
        return False
    for index_name in ("model.safetensors.index.json", PYTORCH_BIN_INDEX):
        index = snapshot / index_name
        if index.exists():
            import json

            try:
                weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
            except (OSError, ValueError, AttributeError):
                return False
            shards = set(weight_map.values())
            return bool(shards) and all((snapshot / shard).exists() for shard in shards)
    return any(
        p.exists() and (p.suffix == SAFETENSORS_SUFFIX or PYTORCH_BIN_PATTERN.match(p.name))
        for p in snapshot.iterdir()
    )


def _disk_usage(folder: Path) -> tuple[int, int]:
    """(bytes the model takes, bytes of those that are interrupted downloads).

    Counts the blobs, and snapshot files that are copies rather than links (where the file system has
    no symlinks); a blob is counted once even though a snapshot links to it."""
    total = partial = 0
    candidates = [p for p in (folder / "blobs").glob("*")]
    candidates += [p for p in (folder / "snapshots").rglob("*")]
    for path in candidates:
        try:
            if path.is_symlink() or not path.is_file():
                continue
            size = path.stat().st_size
        except OSError:
            continue
        total += size
        if path.name.endswith(".incomplete"):
            partial += size
    return total, partial


def complete_snapshot(hf_id: str, cache_dir: Path | None = None) -> Path | None:
    """The snapshot folder of a cached model when it is complete (a config and every weight file it
    names, shards included), else None: the one answer to "is this model here and whole?"."""
    folder = repo_folder(hf_id, cache_dir)
    snapshot = _current_snapshot(folder) if folder.is_dir() else None
    return snapshot if snapshot is not None and _weights_complete(snapshot) else None


def model_status(name_or_id: str) -> ModelStatus:
    """Whether a model is on this computer and how much space it takes. Reads the disk only."""
    hf_id = resolve_name(name_or_id)
    folder = repo_folder(hf_id)
    snapshot = complete_snapshot(hf_id)
    downloaded = snapshot is not None
    size, partial = _disk_usage(folder) if folder.is_dir() else (0, 0)
    return ModelStatus(
        hf_id=hf_id,
        entry=catalog_entry(hf_id),
        downloaded=downloaded,
        size_on_disk_bytes=size,
        partial_bytes=partial,
        snapshot_path=snapshot if downloaded else None,
    )


def list_models() -> list[ModelStatus]:
    """The status of every catalog model, in catalog order. Reads the disk only."""
    return [model_status(entry.hf_id) for entry in CATALOG]



def format_bytes(n: int | float) -> str:
    """A short size for people: 707 MB, 1.9 GB, 12 kB (decimal units, as the catalog uses)."""
    n = float(n)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            if unit == "bytes":
                return f"{int(n)} bytes"
            return f"{n:.0f} {unit}" if abs(n) >= 100 else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


# ------------------------------------------------------------------------------------------ remove


def remove(name_or_id: str) -> int:
    """Delete a model from the hub cache (every version, and any interrupted download of it).

    Returns the bytes freed. Raises UserFacingError when the model is not on this computer."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    hf_id = resolve_name(name_or_id)
    cache_dir = hub_cache_dir()
    folder = repo_folder(hf_id, cache_dir)
    if not folder.is_dir():
        raise UserFacingError(_("{name} is not downloaded, so there is nothing to remove.").format(name=display_name(hf_id)))
    freed = 0
    try:
        cache_info = scan_cache_dir(cache_dir)
    except CacheNotFound:
        cache_info = None
    repo = None
    if cache_info is not None:
        repo = next((r for r in cache_info.repos if r.repo_id == hf_id and r.repo_type == "model"), None)
    if repo is not None and repo.revisions:
        # A cache view holding this repo only: revision hashes are matched across every repo, and a
        # hand-made cache may reuse one, so another model must never be caught by the same hash.
        only_this_repo = dataclasses.replace(cache_info, repos=frozenset({repo}))
        strategy = only_this_repo.delete_revisions(*(rev.commit_hash for rev in repo.revisions))
        strategy.execute()
        freed += strategy.expected_freed_size
    # What the strategy does not cover: interrupted downloads, or a repo with no complete version,
    # which scan_cache_dir reports as damaged and skips.
    if folder.exists():
        freed += _disk_usage(folder)[0]
        shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(cache_dir / ".locks" / folder.name, ignore_errors=True)
    return freed
