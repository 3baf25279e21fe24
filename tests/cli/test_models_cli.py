"""`python main.py models ...` end to end, as a user runs it: a real subprocess talking HTTP to a local
stand-in for the hub (tests/fixtures/fake_hub.py) that serves a tiny GIT model under the catalog id of
`git-base`, then the model loading with the network off."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from describe_aloud.engine.catalog import CATALOG
from describe_aloud.engine.config import hub_cache_dir
from tests.fixtures.fake_hub import make_repo_folder

ROOT = Path(__file__).resolve().parents[2]
GIT_BASE_ID = "microsoft/git-base-coco"
WEIGHTS = "model.safetensors"
CLI_TIMEOUT = 120


@pytest.fixture(scope="session")
def tiny_repo(tiny_git_dir, tmp_path_factory) -> Path:
    """The tiny GIT model as a repo folder, with the files a real repo has that must not be fetched."""
    return make_repo_folder(tiny_git_dir, tmp_path_factory.mktemp("repo") / "git-base-coco")


@pytest.fixture
def hub(fake_hub, tiny_repo):
    fake_hub.add_repo(GIT_BASE_ID, tiny_repo)
    return fake_hub


def online_env(hub) -> dict[str, str]:
    """The user's environment for `models`: the hub reachable (at the stand-in), caches per test."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT=hub.url, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return env


def run_models(hub, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "models", *args],
        env=online_env(hub), cwd=ROOT, capture_output=True, text=True, timeout=CLI_TIMEOUT,
    )


def listed(hub) -> dict[str, dict]:
    result = run_models(hub, "list", "--json")
    assert result.returncode == 0, result.stderr
    return {item["name"]: item for item in json.loads(result.stdout)}


def snapshot_file(name: str) -> Path:
    repo = hub_cache_dir() / ("models--" + GIT_BASE_ID.replace("/", "--"))
    commit = (repo / "refs" / "main").read_text().strip()
    return repo / "snapshots" / commit / name


def partial_files() -> list[Path]:
    return list(hub_cache_dir().glob("models--*/blobs/*.incomplete"))


# ------------------------------------------------------------------------------------------------


def test_download_reports_progress_and_then_lists_the_model_as_downloaded(hub, tiny_repo):
    assert listed(hub)["git-base"]["downloaded"] is False

    result = run_models(hub, "download", "git-base")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    # The progress bar: percentage, bytes done / total, and a rate.
    assert "100%" in result.stderr
    assert "B/s" in result.stderr
    weights_size = (tiny_repo / WEIGHTS).stat().st_size
    assert "git-base is downloaded" in result.stdout
    assert snapshot_file(WEIGHTS).read_bytes() == (tiny_repo / WEIGHTS).read_bytes()

    item = listed(hub)["git-base"]
    assert item["downloaded"] is True
    assert item["size_on_disk_bytes"] >= weights_size
    assert item["partial_bytes"] == 0

    table = run_models(hub, "list").stdout
    git_line = next(line for line in table.splitlines() if line.startswith("git-base "))
    assert git_line.rstrip().endswith("yes")
    florence_line = next(line for line in table.splitlines() if line.startswith("florence-2-base "))
    assert florence_line.rstrip().endswith("no")


def test_only_the_needed_files_are_fetched(hub):
    result = run_models(hub, "download", "git-base")
    assert result.returncode == 0, result.stderr

    snapshot = snapshot_file("config.json").parent
    names = {p.name for p in snapshot.iterdir()}
    assert {"config.json", WEIGHTS, "tokenizer.json", "processor_config.json"} <= names
    # safetensors preferred over the .bin copy; no TensorFlow, no ONNX sub-folder, no model card.
    assert not names & {"pytorch_model.bin", "tf_model.h5", "onnx", "README.md"}
    fetched = {r.path for r in hub.state.requests if r.method == "GET"}
    assert not any(p.endswith(("pytorch_model.bin", "tf_model.h5", "model.onnx")) for p in fetched)


def test_interrupted_download_is_resumed_by_running_the_command_again(hub, tiny_repo):
    weights = (tiny_repo / WEIGHTS).read_bytes()
    # The connection drops half-way through the weights and the network stays down.
    hub.cut_next_get(WEIGHTS, len(weights) // 2, outage=True)

    first = run_models(hub, "download", "git-base")

    assert first.returncode == 1
    assert "Traceback" not in first.stderr
    assert "Could not reach the model server" in first.stderr
    assert "resumed by running the same command again" in first.stderr
    [partial] = partial_files()
    kept = partial.stat().st_size
    assert 0 < kept < len(weights)
    item = listed(hub)["git-base"]
    assert item["downloaded"] is False and item["partial_bytes"] >= kept
    assert "partly" in run_models(hub, "list").stdout

    hub.restore()
    cdn_gets_before = len(hub.requests_for(hub.lfs_path(GIT_BASE_ID, WEIGHTS), "GET"))
    second = run_models(hub, "download", "git-base")

    assert second.returncode == 0, second.stderr
    resumed = hub.requests_for(hub.lfs_path(GIT_BASE_ID, WEIGHTS), "GET")[cdn_gets_before:]
    assert [r.range for r in resumed] == [f"bytes={kept}-"]  # only the missing part was asked for
    assert snapshot_file(WEIGHTS).read_bytes() == weights
    assert partial_files() == []
    assert listed(hub)["git-base"]["downloaded"] is True


def test_a_dropped_connection_is_resumed_within_the_same_run(hub, tiny_repo):
    weights = (tiny_repo / WEIGHTS).read_bytes()
    hub.cut_next_get(WEIGHTS, len(weights) // 3)

    result = run_models(hub, "download", "git-base")

    assert result.returncode == 0, result.stderr
    ranges = [r.range for r in hub.requests_for(hub.lfs_path(GIT_BASE_ID, WEIGHTS), "GET")]
    assert ranges == [None, f"bytes={len(weights) // 3}-"]
    assert snapshot_file(WEIGHTS).read_bytes() == weights


BLOCK_SOCKETS = textwrap.dedent("""
    import socket
    def _refuse(*args, **kwargs):
        raise OSError("network access attempted while offline")
    socket.socket.connect = _refuse
    socket.socket.connect_ex = _refuse
    socket.create_connection = _refuse
""")


def run_offline(code: str) -> subprocess.CompletedProcess:
    """Run Python with the hub switched off, as every command but `models` runs, and sockets blocked."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1")
    env.pop("HF_ENDPOINT", None)
    return subprocess.run([sys.executable, "-c", BLOCK_SOCKETS + textwrap.dedent(code)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=CLI_TIMEOUT)


def test_downloaded_model_loads_with_transformers_offline(hub):
    assert run_models(hub, "download", "git-base").returncode == 0

    result = run_offline(f"""
        from transformers import AutoModelForImageTextToText, AutoProcessor
        model = AutoModelForImageTextToText.from_pretrained({GIT_BASE_ID!r}, local_files_only=True)
        AutoProcessor.from_pretrained({GIT_BASE_ID!r}, local_files_only=True)
        print(type(model).__name__)
    """)

    assert result.returncode == 0, result.stderr
    assert "GitForCausalLM" in result.stdout


def test_downloaded_model_loads_through_the_engine_offline(hub):
    assert run_models(hub, "download", "git-base").returncode == 0

    result = run_offline("""
        from PIL import Image
        from describe_aloud.engine import load_captioner
        captioner = load_captioner("git-base")
        print("MODEL", captioner.model_id)
        [res] = captioner.caption([Image.new("RGB", (64, 48), (200, 30, 30))], max_new_tokens=5)
        print("CAPTION", res.caption)
    """)

    assert result.returncode == 0, result.stderr
    assert "network access attempted" not in result.stderr
    assert f"MODEL {GIT_BASE_ID}" in result.stdout
    caption = next(line for line in result.stdout.splitlines() if line.startswith("CAPTION"))
    assert caption.removeprefix("CAPTION").strip()


def test_remove_frees_the_space_and_says_how_much(hub):
    assert run_models(hub, "download", "git-base").returncode == 0
    size = listed(hub)["git-base"]["size_on_disk_bytes"]
    repo = hub_cache_dir() / ("models--" + GIT_BASE_ID.replace("/", "--"))
    assert repo.is_dir() and size > 0

    result = run_models(hub, "remove", "git-base")

    assert result.returncode == 0, result.stderr
    assert "Removed git-base" in result.stdout and "freed" in result.stdout
    assert not repo.exists()
    item = listed(hub)["git-base"]
    assert item["downloaded"] is False and item["size_on_disk_bytes"] == 0

    again = run_models(hub, "remove", "git-base")
    assert again.returncode == 1
    assert "not downloaded" in again.stderr


def test_remove_also_clears_an_interrupted_download(hub, tiny_repo):
    hub.cut_next_get(WEIGHTS, 10_000, outage=True)
    assert run_models(hub, "download", "git-base").returncode == 1
    assert partial_files()

    result = run_models(hub, "remove", "git-base")

    assert result.returncode == 0, result.stderr
    assert partial_files() == []


@pytest.mark.parametrize("action", ["download", "remove"])
def test_unknown_name_lists_the_catalog(hub, action):
    result = run_models(hub, action, "no-such-model")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "There is no model called 'no-such-model'" in result.stderr
    for entry in CATALOG:
        assert entry.name in result.stderr


def test_a_model_the_server_does_not_have(hub):
    result = run_models(hub, "download", "some-org/not-there")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "has no model called some-org/not-there" in result.stderr


def test_unreachable_server_gives_a_plain_sentence(hub):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = online_env(hub)
    env["HF_ENDPOINT"] = f"http://127.0.0.1:{port}"
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "models", "download", "git-base"],
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=CLI_TIMEOUT)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Could not reach the model server" in result.stderr
    assert "check your connection" in result.stderr.lower()


def test_download_without_a_name_explains_what_to_type(hub):
    result = run_models(hub, "download")
    assert result.returncode == 1
    assert "--all" in result.stderr


def test_list_json_schema(hub):
    result = run_models(hub, "list", "--json")

    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert [item["name"] for item in items] == [entry.name for entry in CATALOG]
    types = {
        "name": str, "hf_id": str, "in_catalog": bool, "family": str, "params_m": int,
        "download_size_bytes": int, "license": str, "capabilities": list, "note": str,
        "downloaded": bool, "size_on_disk_bytes": int, "partial_bytes": int,
    }
    for item, entry in zip(items, CATALOG):
        assert set(item) == set(types) | {"path"}
        for key, kind in types.items():
            assert isinstance(item[key], kind), key
        assert item["hf_id"] == entry.hf_id
        assert set(item["capabilities"]) == set(entry.capabilities)
        assert item["path"] is None  # nothing downloaded in this test


# ------------------------------------------------------------------ in-process: list formatting


def _status(name: str, **kwargs):
    from describe_aloud.engine.catalog import catalog_entry
    from describe_aloud.engine.models import ModelStatus

    entry = catalog_entry(name)
    return ModelStatus(hf_id=entry.hf_id, entry=entry, **{"downloaded": False, "size_on_disk_bytes": 0, **kwargs})


def test_table_rows_say_yes_no_or_partly():
    from describe_aloud.cli.models_cmd import format_table, status_rows

    rows = status_rows([
        _status("git-base", downloaded=True, size_on_disk_bytes=707_000_000),
        _status("florence-2-base", size_on_disk_bytes=300_000_000, partial_bytes=299_000_000),
        _status("blip-base"),
    ])

    assert rows[0] == ["NAME", "HUGGING FACE ID", "PARAMS", "DOWNLOAD", "ON DISK", "LICENCE", "CAN DO",
                       "DOWNLOADED"]
    assert rows[1] == ["git-base", GIT_BASE_ID, "177M", "707 MB", "707 MB", "MIT", "caption", "yes"]
    assert rows[2][6] == "caption, detailed, objects, ocr"
    assert rows[2][7] == "partly (300 MB; download again to resume)"
    assert rows[3][4:] == ["-", "BSD-3-Clause", "caption", "no"]
    lines = format_table(rows).splitlines()
    # Columns line up: each column starts at the same offset on every line.
    offset = lines[0].index("HUGGING FACE ID")
    assert all(line[offset:].startswith(row[1]) for line, row in zip(lines, rows))


def test_list_in_process_names_where_models_are_kept(capsys, tiny_git_dir):
    import argparse

    from describe_aloud.cli.models_cmd import run_list
    from tests.fixtures.tiny_models import install_in_hub_cache

    install_in_hub_cache(tiny_git_dir, GIT_BASE_ID, hub_cache_dir())
    assert run_list(argparse.Namespace(json=False)) == 0
    out = capsys.readouterr().out
    assert f"Models are stored in {hub_cache_dir()}" in out
    assert next(l for l in out.splitlines() if l.startswith("git-base ")).endswith("yes")


def test_downloading_a_model_already_here_needs_no_network(capsys, tiny_git_dir):
    from describe_aloud.cli import main
    from tests.fixtures.tiny_models import install_in_hub_cache

    install_in_hub_cache(tiny_git_dir, GIT_BASE_ID, hub_cache_dir())
    # HF_HUB_OFFLINE is set in tests: any request would fail.
    assert main.main(["models", "download", "git-base"]) == 0
    assert "git-base is already downloaded" in capsys.readouterr().out
