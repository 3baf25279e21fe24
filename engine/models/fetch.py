"""Fetching a model into the store once, resumably (the rest of the store is in store.py).

Models live in the Hugging Face hub cache (`engine.config.hub_cache_dir()`, normally
`~/.cache/huggingface/hub`), in the layout transformers reads with `local_files_only=True`, so a model
fetched here loads offline afterwards through `engine.load_captioner`.

Why this module downloads the weight files itself instead of leaving it all to `snapshot_download`:
huggingface_hub (2.x) writes each file to a process-unique temporary file and deletes it when the
download fails, so an interrupted 1 GB download starts again from zero. Here every file is streamed
into `blobs/<etag>.incomplete` (the name huggingface_hub's cache tools know as an interrupted download)
and continued with an HTTP Range request, within the same run after a dropped connection and across
runs after the command was stopped. Once every blob is complete, `snapshot_download` assembles the
snapshot (symlinks, tree cache) from the blobs already present, without downloading anything again.

Threading contract: every function here blocks (file system and network) and must not run on a GUI
thread. `download` calls `progress` and checks `cancel` on the thread that called it.

huggingface_hub reads HF_HOME / HF_ENDPOINT when it is imported; this module reads the cache folder and
the endpoint from the environment at call time and passes them explicitly. huggingface_hub is imported
inside the functions so that importing this module stays cheap.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from describe_aloud.engine.config import hub_cache_dir
from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.i18n import _
from describe_aloud.engine.models.fetch_errors import http_module, user_facing_errors
from describe_aloud.engine.models.store import (
    PYTORCH_BIN_INDEX,
    PYTORCH_BIN_PATTERN,
    REVISION,
    SAFETENSORS_SUFFIX,
    display_name,
    format_bytes,
    model_status,
    repo_folder,
    resolve_name,
)

ProgressCallback = Callable[[int, int], None]
"""progress(bytes_done, bytes_total): bytes of the model on disk so far, out of the bytes it needs."""

DEFAULT_ENDPOINT = "https://huggingface.co"

# Files a transformers model needs: configs, tokenizer, processor. Weights are chosen separately.
SUPPORT_FILE_SUFFIXES = (".json", ".txt", ".model", ".tiktoken", ".spm")  # .spm: MarianMT's sentencepiece

CHUNK_BYTES = 1 << 20
# A dropped connection is retried (with a Range request) this many times in a row without new bytes
# before the command gives up and tells the user to run it again.
MAX_ATTEMPTS_WITHOUT_PROGRESS = 3
RETRY_WAIT_SECONDS = 0.5


class DownloadCancelled(UserFacingError):
    """The download was stopped on request; what was fetched is kept and the next download resumes."""


# ------------------------------------------------------------------------------------ file selection


def select_files(repo_files: list[str]) -> list[str]:
    """The files of a repo the app needs: configs, tokenizer and processor files at the top level, and
    one copy of the weights (safetensors when the repo has them, else PyTorch .bin files).

    Other formats (TensorFlow, Flax, ONNX, sub-folders) and remote code are never fetched. Small files
    come first so an interrupted download has everything but the weights."""
    top_level = [f for f in repo_files if "/" not in f]
    safetensors = [f for f in top_level if f.endswith(SAFETENSORS_SUFFIX)]
    if safetensors:
        weights = safetensors
        skip = {PYTORCH_BIN_INDEX}
    else:
        weights = [f for f in top_level if PYTORCH_BIN_PATTERN.match(f)]
        skip = {"model.safetensors.index.json"}
    support = [f for f in top_level if f.endswith(SUPPORT_FILE_SUFFIXES) and f not in skip]
    return sorted(support) + sorted(weights)


# ---------------------------------------------------------------------------------------- download


def _endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


@dataclass
class _PlannedFile:
    path: str  # inside the repo
    resolve_url: str  # the hub's address for the file
    url: str  # where the bytes are (after the hub's redirect; a signed CDN address may expire)
    etag: str
    size: int | None
    sha256: str | None  # known for LFS files: the content is checked after download
    blob: Path

    @property
    def partial(self) -> Path:
        # The name huggingface_hub's cache tools (scan_cache_dir) recognise as an interrupted download.
        return self.blob.with_name(self.blob.name + ".incomplete")

    def bytes_present(self) -> int:
        for candidate in (self.blob, self.partial):
            try:
                return candidate.stat().st_size
            except OSError:
                continue
        return 0


class _Progress:
    """Counts bytes on disk for the whole model and forwards them to the caller's callback."""

    def __init__(self, total: int, done: int, callback: ProgressCallback | None) -> None:
        self.total = total
        self.done = done
        self._callback = callback
        self.report()

    def add(self, n: int) -> None:
        self.done += n
        self.report()

    def report(self) -> None:
        if self._callback is not None:
            self._callback(self.done, self.total)


class _StartOver(Exception):
    """The partial file cannot be continued (the server sent a different range); start the file again."""


def _plan(hf_id: str, endpoint: str, cache_dir: Path) -> tuple[str, list[_PlannedFile]]:
    """Ask the server for the current commit, its file list and each chosen file's etag, size and URL."""
    from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_url
    from huggingface_hub.hf_api import RepoFile

    api = HfApi(endpoint=endpoint)
    commit = api.model_info(hf_id, revision=REVISION).sha
    if not commit:
        raise UserFacingError(_("The model server did not say which version of {hf_id} to download.").format(hf_id=hf_id))
    entries = {
        f.path: f
        for f in api.list_repo_tree(hf_id, recursive=True, revision=commit)
        if isinstance(f, RepoFile)
    }
    wanted = select_files(list(entries))
    if "config.json" not in wanted or not any(
        f.endswith(SAFETENSORS_SUFFIX) or PYTORCH_BIN_PATTERN.match(f) for f in wanted
    ):
        raise UserFacingError(
            _("{hf_id} does not look like a model this app can load (no config.json and weights found).").format(hf_id=hf_id)
        )
    folder = repo_folder(hf_id, cache_dir)
    planned = []
    for path in wanted:
        resolve_url = hf_hub_url(hf_id, path, revision=commit, endpoint=endpoint)
        meta = get_hf_file_metadata(resolve_url, endpoint=endpoint)
        if not meta.etag:
            raise UserFacingError(_("The model server sent no checksum for {path} of {hf_id}.").format(path=path, hf_id=hf_id))
        lfs = entries[path].lfs
        sha256 = lfs.sha256 if lfs is not None and lfs.sha256 == meta.etag else None
        size = meta.size if meta.size is not None else entries[path].size
        planned.append(
            _PlannedFile(path, resolve_url, meta.location, meta.etag, size, sha256, folder / "blobs" / meta.etag)
        )
    return commit, planned


def _check_free_space(planned: list[_PlannedFile], cache_dir: Path, name: str) -> None:
    needed = sum((f.size or 0) - f.bytes_present() for f in planned if not f.blob.exists())
    cache_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(cache_dir).free
    if needed > free:
        raise UserFacingError(
            _("There is not enough free disk space for {name}: it needs {size} more, and {cache_dir} has "
              "{size2} free. Free some space and run the same command again.").format(name=name, size=format_bytes(needed), cache_dir=cache_dir, size2=format_bytes(free))
        )


def _stream_once(
    planned: _PlannedFile, progress: _Progress, cancel: threading.Event | None
) -> None:
    """One GET of the rest of the file, appended to the partial file. Raises on a dropped connection."""
    from huggingface_hub import constants
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    http = http_module()
    offset = planned.partial.stat().st_size if planned.partial.exists() else 0
    headers = build_hf_headers()
    headers["Accept-Encoding"] = "identity"  # the byte counts must be the file's own
    if offset:
        headers["Range"] = f"bytes={offset}-"
    timeout = http.Timeout(constants.HF_HUB_DOWNLOAD_TIMEOUT, connect=constants.HF_HUB_ETAG_TIMEOUT)
    with get_session().stream(
        "GET", planned.url, headers=headers, follow_redirects=True, timeout=timeout
    ) as response:
        if response.status_code == 416:  # Range Not Satisfiable: the partial file is not a prefix
            raise _StartOver()
        if response.status_code >= 400:
            response.read()  # the error helpers read the body
            hf_raise_for_status(response)
        mode = "ab"
        if offset and response.status_code == 200:
            # The server ignored the Range header and sends the whole file: start the file again.
            mode = "wb"
            progress.add(-offset)
        elif offset:
            content_range = response.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {offset}-"):
                raise _StartOver()
        with open(planned.partial, mode) as fh:
            # No chunk size: bytes are written as they arrive, so a dropped connection loses none.
            for chunk in response.iter_bytes():
                if cancel is not None and cancel.is_set():
                    raise DownloadCancelled(
                        _("The download was stopped. What was fetched is kept; run the same command again "
                        "to resume it.")
                    )
                fh.write(chunk)
                progress.add(len(chunk))


def _verify_and_publish(planned: _PlannedFile, progress: _Progress) -> None:
    """Check the finished partial file against the server's size and checksum, then make it the blob."""
    actual = planned.partial.stat().st_size
    damaged = planned.size is not None and actual != planned.size
    if not damaged and planned.sha256:
        digest = hashlib.sha256()
        with open(planned.partial, "rb") as fh:
            for block in iter(lambda: fh.read(CHUNK_BYTES), b""):
                digest.update(block)
        damaged = digest.hexdigest() != planned.sha256
    if damaged:
        planned.partial.unlink(missing_ok=True)
        progress.add(-actual)
        raise UserFacingError(
            _("The downloaded file {path} was damaged on the way and has been deleted. Run the same "
              "command again to fetch it again.").format(path=planned.path)
        )
    os.replace(planned.partial, planned.blob)


def _fetch_file(planned: _PlannedFile, progress: _Progress, cancel: threading.Event | None, lock_dir: Path) -> None:
    """Download one file into its blob, continuing any partial file; retry dropped connections."""
    from huggingface_hub.errors import OfflineModeIsEnabled
    from huggingface_hub.utils import WeakFileLock

    http = http_module()
    planned.blob.parent.mkdir(parents=True, exist_ok=True)
    lock_dir.mkdir(parents=True, exist_ok=True)
    # The same lock huggingface_hub takes for this blob, so two downloads never append to one file.
    with WeakFileLock(lock_dir / f"{planned.etag}.lock"):
        if planned.blob.exists():
            return
        attempts_without_progress = 0
        while True:
            before = planned.bytes_present()
            if planned.size is not None and before == planned.size:
                break  # complete (e.g. the previous run stopped just before checking it)
            try:
                if planned.size is not None and before > planned.size:
                    raise _StartOver()  # longer than the file: not a prefix of it
                _stream_once(planned, progress, cancel)
                if planned.size is not None and planned.bytes_present() < planned.size:
                    raise ConnectionError(f"the server stopped sending {planned.path} before its end")
                break
            except OfflineModeIsEnabled:
                raise
            except _StartOver:
                progress.add(-before)
                planned.partial.unlink(missing_ok=True)
                attempts_without_progress += 1
                if attempts_without_progress >= MAX_ATTEMPTS_WITHOUT_PROGRESS:
                    raise UserFacingError(
                        _("The model server keeps sending {path} in a way that cannot be resumed.").format(path=planned.path)
                    ) from None
            except (http.TransportError, ConnectionError):
                # A dropped connection: keep what arrived and ask for the rest, a few times.
                made_progress = planned.bytes_present() > before
                attempts_without_progress = 0 if made_progress else attempts_without_progress + 1
                if attempts_without_progress >= MAX_ATTEMPTS_WITHOUT_PROGRESS:
                    raise
                time.sleep(RETRY_WAIT_SECONDS * max(1, attempts_without_progress))
                _refresh_location(planned)
        _verify_and_publish(planned, progress)


def _refresh_location(planned: _PlannedFile) -> None:
    """Ask the hub again where the bytes are: a signed CDN address can expire during a long download.
    Keeps the old address when the hub cannot be asked, or when the file changed on the server."""
    from huggingface_hub import get_hf_file_metadata
    from huggingface_hub.errors import HfHubHTTPError

    http = http_module()
    try:
        meta = get_hf_file_metadata(planned.resolve_url, endpoint=_endpoint())
    except (http.TransportError, HfHubHTTPError, ConnectionError, OSError):
        return
    if meta.etag == planned.etag and meta.location:
        planned.url = meta.location


def _assemble_snapshot(hf_id: str, commit: str, files: list[str], endpoint: str, cache_dir: Path) -> Path:
    """Link the (already complete) blobs into `snapshots/<commit>/` and point `refs/main` at it."""
    from huggingface_hub import snapshot_download
    from tqdm.auto import tqdm

    class _Silent(tqdm):  # our own progress bar already covered the bytes
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True
            kwargs.pop("name", None)
            super().__init__(*args, **kwargs)

    snapshot = Path(
        snapshot_download(
            hf_id,
            revision=commit,
            allow_patterns=files,
            cache_dir=cache_dir,
            endpoint=endpoint,
            tqdm_class=_Silent,
            max_workers=2,
        )
    )
    refs = repo_folder(hf_id, cache_dir) / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    tmp = refs / f".{REVISION}.{os.getpid()}.tmp"
    tmp.write_text(commit, encoding="utf-8")
    os.replace(tmp, refs / REVISION)  # atomic: transformers never reads a half-written ref
    return snapshot


def download(
    name_or_id: str,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Fetch a model into the hub cache (once) and return its snapshot folder.

    An interrupted download is continued where it stopped, within this call after a dropped
    connection and by the next call otherwise. A model already downloaded is not fetched again and the
    network is not touched. `progress(done, total)` is called with the bytes on disk so far; `cancel`
    stops the download between chunks (DownloadCancelled), keeping what was fetched.

    Raises UserFacingError (a sentence for the user) for every network, server or disk failure.
    Blocking; runs `progress` on the calling thread."""
    hf_id = resolve_name(name_or_id)
    status = model_status(hf_id)
    if status.downloaded and status.snapshot_path is not None:
        if progress is not None:
            progress(status.size_on_disk_bytes, status.size_on_disk_bytes)
        return status.snapshot_path
    cache_dir = hub_cache_dir()
    endpoint = _endpoint()
    name = display_name(hf_id)
    with user_facing_errors(hf_id, endpoint):
        commit, planned = _plan(hf_id, endpoint, cache_dir)
        _check_free_space(planned, cache_dir, name)
        total = sum(f.size if f.size is not None else f.bytes_present() for f in planned)
        tracker = _Progress(total, sum(f.bytes_present() for f in planned), progress)
        lock_dir = cache_dir / ".locks" / repo_folder(hf_id, cache_dir).name
        for planned_file in planned:
            _fetch_file(planned_file, tracker, cancel, lock_dir)
        return _assemble_snapshot(hf_id, commit, [f.path for f in planned], endpoint, cache_dir)
