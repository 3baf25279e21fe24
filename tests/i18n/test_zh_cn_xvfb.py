"""The zh_CN session under a real X server: `main.py --language zh_CN describe-screen` captures the screen
(mss), reads the words with rapidocr, captions with the tiny GIT model and translates the caption with the
tiny Marian from the hub cache, then speaks it: the sentences are Chinese, the read text stays exact."""
from __future__ import annotations

import json
import re

import pytest

from describe_aloud.engine.config import hub_cache_dir
from tests.fixtures.tiny_models import install_in_hub_cache
from tests.gui.test_e2e_xvfb import WORDS, _env, _known_text_picture, _run_cli, _sink_entries

HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.xvfb
@pytest.mark.timeout(600)
def test_describe_screen_in_chinese_under_xvfb(xvfb, show_picture, tiny_git_dir, tiny_marian_dir, tmp_path,
                                               isolated_user_dirs):
    install_in_hub_cache(tiny_marian_dir, "Helsinki-NLP/opus-mt-en-zh", hub_cache_dir())
    sink = tmp_path / "sink"
    env = _env(xvfb, isolated_user_dirs, sink)
    env["HF_HUB_CACHE"] = str(hub_cache_dir())
    show_picture(_known_text_picture(tmp_path / "words.png"), x=100, y=100, title="words")

    result = _run_cli(env, "--language", "zh_CN", "describe-screen", "--json", "--model", str(tiny_git_dir),
                      "--speak", timeout=400)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.strip().splitlines()[-1])
    speech = record["speech"]
    assert speech.startswith("有文字的屏幕。 文字："), speech  # the zh_CN templates
    assert all(word in record["text"].upper() for word in WORDS)  # read text: exact, not translated
    assert "可能是：" in speech and HAN.search(record["caption"]) and not re.search(r"[A-Za-z]", record["caption"])
    spoken = " ".join((e.get("text") or "") for e in _sink_entries(sink))
    assert "有文字的屏幕" in spoken and all(word in spoken.upper() for word in WORDS), spoken
