"""describe_aloud.engine.models: names, file choice, status read from the disk, removal, and (in-process, against the
local stand-in hub) progress, stopping, damaged files and failures turned into plain sentences."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from describe_aloud.engine import models
from describe_aloud.engine.catalog import CATALOG
from describe_aloud.engine.config import hub_cache_dir
from describe_aloud.engine.errors import UserFacingError
from tests.fixtures.fake_hub import make_repo_folder
from tests.fixtures.tiny_models import install_in_hub_cache

GIT_BASE_ID = "microsoft/git-base-coco"
WEIGHTS = "model.safetensors"


# ------------------------------------------------------------------------------------------ names


def test_resolve_name_accepts_catalog_names_and_hub_ids():
    assert models.resolve_name("git-base") == GIT_BASE_ID
    assert models.resolve_name(GIT_BASE_ID) == GIT_BASE_ID
    assert models.resolve_name(" florence-2-base ") == "florence-community/Florence-2-base-ft"
    assert models.resolve_name("someone/their-model.v2") == "someone/their-model.v2"


@pytest.mark.parametrize("bad", ["gitbase", "", "a/b/c", "../etc", "/abs/path", "org--x/y", "org/"])
def test_resolve_name_rejects_anything_else_and_lists_the_catalog(bad):
    with pytest.raises(UserFacingError) as info:
        models.resolve_name(bad)
    message = str(info.value)
    assert "There is no model called" in message
    for entry in CATALOG:
        assert entry.name in message


# ---------------------------------------------------------------------------------- file choice


def test_select_files_prefers_safetensors_and_skips_other_formats():
    repo = [
        ".gitattributes", "README.md", "config.json", "generation_config.json", "tokenizer.json",
        "tokenizer_config.json", "vocab.txt", "special_tokens_map.json", "preprocessor_config.json",
        "model.safetensors", "pytorch_model.bin", "tf_model.h5", "flax_model.msgpack",
        "onnx/model.onnx", "onnx/config.json", "modeling_custom.py",
    ]
    chosen = models.select_files(repo)
    assert chosen[-1] == "model.safetensors"  # weights last: small files are complete first
    assert set(chosen) == {
        "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
        "special_tokens_map.json", "preprocessor_config.json", "model.safetensors",
    }


def test_select_files_takes_bin_weights_when_there_are_no_safetensors():
    chosen = models.select_files(["config.json", "pytorch_model.bin", "tf_model.h5", "vocab.json"])
    assert chosen == ["config.json", "vocab.json", "pytorch_model.bin"]


def test_select_files_keeps_every_shard_and_the_matching_index_only():
    repo = [
        "config.json", "model.safetensors.index.json", "pytorch_model.bin.index.json",
        "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
        "pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin",
    ]
    assert models.select_files(repo) == [
        "config.json", "model.safetensors.index.json",
        "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
    ]


# ------------------------------------------------------------------------------- status and sizes


def test_format_bytes_is_short_and_readable():
    assert models.format_bytes(0) == "0 bytes"
    assert models.format_bytes(999) == "999 bytes"
    assert models.format_bytes(12_345) == "12.3 kB"
    assert models.format_bytes(707_000_000) == "707 MB"
    assert models.format_bytes(1_880_000_000) == "1.9 GB"


def test_status_of_a_model_not_on_this_computer():
    status = models.model_status("git-base")
    assert (status.downloaded, status.size_on_disk_bytes, status.partial_bytes) == (False, 0, 0)
    assert status.name == "git-base" and status.entry is not None
    assert status.snapshot_path is None


def test_status_of_an_installed_model_counts_each_blob_once(tiny_git_dir):
    snapshot = install_in_hub_cache(tiny_git_dir, GIT_BASE_ID, hub_cache_dir())
    files_size = sum(p.stat().st_size for p in tiny_git_dir.iterdir() if p.is_file())

    status = models.model_status("git-base")

    assert status.downloaded is True
    assert status.snapshot_path == snapshot
    assert status.size_on_disk_bytes == files_size  # symlinks are not counted twice


def test_a_snapshot_whose_weights_are_missing_is_not_downloaded(tiny_git_dir):
    snapshot = install_in_hub_cache(tiny_git_dir, GIT_BASE_ID, hub_cache_dir())
    (snapshot / WEIGHTS).resolve().unlink()  # the blob is gone; the link dangles

    assert models.model_status("git-base").downloaded is False


def test_a_sharded_model_needs_every_shard(tmp_path, tiny_git_dir):
    folder = tmp_path / "sharded"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors.index.json").write_text(
        '{"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}'
    )
    (folder / "model-00001-of-00002.safetensors").write_bytes(b"x" * 10)
    install_in_hub_cache(folder, "org/sharded", hub_cache_dir())
    assert models.model_status("org/sharded").downloaded is False

    (folder / "model-00002-of-00002.safetensors").write_bytes(b"y" * 10)
    install_in_hub_cache(folder, "org/sharded", hub_cache_dir())
    assert models.model_status("org/sharded").downloaded is True


def test_list_models_covers_the_catalog_in_order(tiny_git_dir):
    install_in_hub_cache(tiny_git_dir, GIT_BASE_ID, hub_cache_dir())
    statuses = models.list_models()
    assert [s.name for s in statuses] == [e.name for e in CATALOG]
    assert [s.downloaded for s in statuses] == [e.hf_id == GIT_BASE_ID for e in CATALOG]


# ---------------------------------------------------------------------------------------- remove


def test_remove_deletes_the_model_and_returns_the_bytes_freed(tiny_git_dir):
    install_in_hub_cache(tiny_git_dir, GIT_BASE_ID, hub_cache_dir())
    size = models.model_status("git-base").size_on_disk_bytes

    freed = models.remove("git-base")

    assert freed == size
    assert not models.repo_folder(GIT_BASE_ID).exists()
    assert models.model_status("git-base").downloaded is False


def test_remove_leaves_other_models_alone(tiny_git_dir):
    install_in_hub_cache(tiny_git_dir, GIT_BASE_ID, hub_cache_dir())
    install_in_hub_cache(tiny_git_dir, "Mozilla/distilvit", hub_cache_dir())

    models.remove("distilvit")

    assert models.model_status("git-base").downloaded is True
    assert models.model_status("distilvit").downloaded is False


def test_removing_a_model_that_is_not_there_says_so():
    with pytest.raises(UserFacingError, match="blip-base is not downloaded"):
        models.remove("blip-base")


# ------------------------------------------------------------------- download, in-process


@pytest.fixture
def online(monkeypatch, fake_hub, tiny_git_dir, tmp_path):
    """The hub stand-in serving the tiny GIT model as git-base, and huggingface_hub allowed online
    (conftest switched it off before it was imported, so the flag is changed where it is read)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_ENDPOINT", fake_hub.url)
    monkeypatch.setattr(models.fetch, "RETRY_WAIT_SECONDS", 0.05)
    repo = make_repo_folder(tiny_git_dir, tmp_path / "repo")
    fake_hub.add_repo(GIT_BASE_ID, repo)
    return fake_hub, repo


def test_download_reports_bytes_up_to_the_total(online):
    _hub, repo = online
    calls: list[tuple[int, int]] = []

    snapshot = models.download("git-base", progress=lambda done, total: calls.append((done, total)))

    expected_total = sum(p.stat().st_size for p in repo.iterdir() if p.name in set(models.select_files(
        [q.name for q in repo.iterdir() if q.is_file()])))
    assert calls[0] == (0, expected_total)
    assert calls[-1] == (expected_total, expected_total)
    assert all(b[0] >= a[0] for a, b in zip(calls, calls[1:]))
    assert (snapshot / WEIGHTS).read_bytes() == (repo / WEIGHTS).read_bytes()
    assert models.model_status("git-base").downloaded is True


def test_a_downloaded_model_is_not_fetched_again(online):
    hub, _repo = online
    models.download("git-base")
    count = len(hub.state.requests)

    models.download("git-base")

    assert len(hub.state.requests) == count  # not even a question to the server


def test_stopping_a_download_keeps_what_arrived_and_the_next_one_resumes(online):
    hub, repo = online
    weights = (repo / WEIGHTS).read_bytes()
    cancel = threading.Event()

    def stop_in_the_weights(done: int, total: int) -> None:
        if total - done < len(weights) * 0.9:
            cancel.set()

    with pytest.raises(models.DownloadCancelled, match="run the same command again"):
        models.download("git-base", progress=stop_in_the_weights, cancel=cancel)
    [partial] = list(models.repo_folder(GIT_BASE_ID).glob("blobs/*.incomplete"))
    kept = partial.stat().st_size
    assert 0 < kept < len(weights)
    assert models.model_status("git-base").partial_bytes == kept

    snapshot = models.download("git-base")

    assert hub.requests_for(hub.lfs_path(GIT_BASE_ID, WEIGHTS), "GET")[-1].range == f"bytes={kept}-"
    assert (snapshot / WEIGHTS).read_bytes() == weights


def test_a_server_that_ignores_range_gets_the_file_again_from_the_start(online):
    hub, repo = online
    weights = (repo / WEIGHTS).read_bytes()
    cancel = threading.Event()
    with pytest.raises(models.DownloadCancelled):
        models.download("git-base", cancel=cancel,
                        progress=lambda done, total: cancel.set() if total - done < len(weights) * 0.9 else None)
    hub.state.ignore_range = True
    calls: list[tuple[int, int]] = []

    snapshot = models.download("git-base", progress=lambda done, total: calls.append((done, total)))

    assert hub.requests_for(hub.lfs_path(GIT_BASE_ID, WEIGHTS), "GET")[-1].range is not None
    assert (snapshot / WEIGHTS).read_bytes() == weights  # not the old part plus the whole file
    assert all(done <= total for done, total in calls) and calls[-1][0] == calls[-1][1]


def test_a_damaged_download_is_deleted_and_reported(online):
    hub, repo = online
    served = hub.state.repos[GIT_BASE_ID].files[WEIGHTS]
    served.data = bytes(reversed(served.data))  # same size, wrong content for its sha256

    with pytest.raises(UserFacingError, match="damaged on the way"):
        models.download("git-base")

    assert not list(models.repo_folder(GIT_BASE_ID).glob("blobs/*.incomplete"))
    assert models.model_status("git-base").downloaded is False


def test_a_server_error_is_a_sentence_not_a_traceback(online, monkeypatch):
    hub, _repo = online
    monkeypatch.setenv("HF_ENDPOINT", hub.url + "/broken")  # every path 404s with RepoNotFound
    with pytest.raises(UserFacingError, match="has no model called microsoft/git-base-coco"):
        models.download("git-base")


def test_offline_mode_is_explained(online, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(UserFacingError, match="HF_HUB_OFFLINE"):
        models.download("git-base")


def test_a_network_outage_mid_download_gives_the_resume_sentence(online):
    hub, repo = online
    hub.cut_next_get(WEIGHTS, 5000, outage=True)
    with pytest.raises(UserFacingError, match="Could not reach the model server .*resumed by running the same"):
        models.download("git-base")
    assert models.model_status("git-base").partial_bytes == 5000


def test_not_enough_disk_space_is_said_before_downloading(online, monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    hub, _repo = online
    with pytest.raises(UserFacingError, match="not enough free disk space"):
        models.download("git-base")
    assert not hub.requests_for(hub.lfs_path(GIT_BASE_ID, WEIGHTS), "GET")


def test_status_json_shape_for_a_model_outside_the_catalog(tiny_git_dir):
    snapshot = install_in_hub_cache(tiny_git_dir, "someone/custom", hub_cache_dir())
    data = models.model_status("someone/custom").to_dict()
    assert data["name"] == "someone/custom" and data["in_catalog"] is False
    assert data["downloaded"] is True and data["path"] == str(snapshot)
    assert data["capabilities"] == [] and data["license"] is None


def test_repo_folder_follows_the_hub_cache_layout():
    assert models.repo_folder("org/name") == Path(hub_cache_dir()) / "models--org--name"
