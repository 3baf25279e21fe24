"""The model store: which catalog models are on this computer (store.py), fetching them once (fetch.py),
removing them.

Models live in the Hugging Face hub cache (`engine.config.hub_cache_dir()`, normally
`~/.cache/huggingface/hub`), in the layout transformers reads with `local_files_only=True`, so a model
fetched here loads offline afterwards through `engine.load_captioner`.
"""
from describe_aloud.engine.models.fetch import (
    SUPPORT_FILE_SUFFIXES,
    DownloadCancelled,
    ProgressCallback,
    download,
    select_files,
)
from describe_aloud.engine.models.store import (
    ModelStatus,
    catalog_names,
    complete_snapshot,
    display_name,
    format_bytes,
    list_models,
    model_status,
    remove,
    repo_folder,
    resolve_name,
)

__all__ = [
    "SUPPORT_FILE_SUFFIXES",
    "DownloadCancelled",
    "ModelStatus",
    "ProgressCallback",
    "catalog_names",
    "complete_snapshot",
    "display_name",
    "download",
    "format_bytes",
    "list_models",
    "model_status",
    "remove",
    "repo_folder",
    "resolve_name",
    "select_files",
]
