"""Shared test setup: every test runs with its own config, data and model-cache folders and no hub access.

Fixture plugins live in tests/fixtures/ (one file per area) so that areas do not edit one shared file.
"""
from __future__ import annotations

import os

import pytest

# Before anything imports huggingface_hub / transformers.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The app follows the system's language, and catalogs exist (zh_CN, de): tests that check English words run
# in English whatever the machine's locale; tests/i18n switch languages themselves.
os.environ["LANGUAGE"] = "en"

pytest_plugins = [
    "tests.fixtures.images",
    "tests.fixtures.tiny_models",
    "tests.fixtures.tiny_vlm",
    "tests.fixtures.tiny_marian",
    "tests.fixtures.qt",
    "tests.fixtures.speech",
    "tests.fixtures.shapes",
    "tests.fixtures.xvfb",
    "tests.fixtures.fake_hub",
    "tests.fixtures.photo_folder",
    "tests.fixtures.ray_cluster",
]


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Never read or write the real user's settings, history or model cache."""
    root = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("DESCRIBE_ALOUD_CONFIG_DIR", str(root / "config"))
    monkeypatch.setenv("DESCRIBE_ALOUD_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("HF_HOME", str(root / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(root / "hf" / "hub"))
    # One OpenVINO model cache for the whole run (engine/ocr_start.py): compiled once, ~31 MB, not per test.
    monkeypatch.setenv("DESCRIBE_ALOUD_OCR_CACHE", str(tmp_path_factory.getbasetemp() / "ocr-compiled"))
    return root
