"""The words the command line prints around a description are Chinese in a zh_CN session: the image's kind
after its file name (`describe`, `history`) and the batch summary's count (the Ray summary too)."""
from __future__ import annotations

import pytest

from describe_aloud.cli import main
from describe_aloud.engine.description import Description, ImageKind
from describe_aloud.engine.history import HistoryStore
from describe_aloud.engine.i18n import set_language


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def test_describe_prints_the_kind_in_chinese(capsys, image_files):
    # No model is needed to say an image is blank (the model given does not exist).
    main.main(["--language", "zh_CN", "describe", str(image_files["blank"]), "--no-ocr", "--model",
               "/nonexistent-model-folder"])
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{image_files['blank']}: 空白"


def test_history_prints_the_kind_in_chinese(capsys):
    with HistoryStore() as store:
        store.add(Description(kind=ImageKind.PHOTO, caption="a cat"), source="cat.jpg")
    assert main.main(["--language", "zh_CN", "history", "--last"]) == 0
    out = capsys.readouterr().out
    assert "cat.jpg  (照片)" in out and "(photo)" not in out


def test_the_ray_summary_counts_in_chinese_and_in_the_singular_in_english():
    from describe_aloud.engine.ray_batch.summary import RaySummary

    summary = RaySummary(input="photos", found=1, described=1)
    set_language("en")
    assert summary.lines()[0].startswith("1 image found: 1 described")
    set_language("zh_CN")
    assert summary.lines()[0].startswith("找到 1 张图像：已描述 1 张")
