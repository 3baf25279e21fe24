"""Descriptions in the user's language: a tiny random-weight MarianMT loaded through the production path
(a folder, and the hub cache by catalog name) translates the captioner's words, never the read text unless
asked; a missing model names the command that downloads it."""
from __future__ import annotations

import re

import pytest
from PIL import Image

from describe_aloud.engine import Describer, load_captioner, render
from describe_aloud.engine.catalog import CAPTIONERS, CATALOG, catalog_entry
from describe_aloud.engine.config import hub_cache_dir
from describe_aloud.engine.description import Description, DetectedObject, ImageKind, TextLine
from describe_aloud.engine.errors import ModelNotAvailable
from describe_aloud.engine.i18n import set_language
from describe_aloud.engine.models import select_files
from describe_aloud.engine.ocr import OcrEngine
from describe_aloud.engine.translation import (
    load_translator,
    load_translator_for,
    needs_translation,
    translate_description,
    translation_model_for,
)
from tests.fixtures.images import photo_image, text_image
from tests.fixtures.tiny_marian import TARGET_TOKEN
from tests.fixtures.tiny_models import install_in_hub_cache

HAN = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]")


@pytest.fixture(scope="module")
def translator(tiny_marian_dir):
    return load_translator(str(tiny_marian_dir), language="zh_CN", precision="fp32")


@pytest.fixture(autouse=True)
def english_after():
    yield
    set_language("en")


def chinese(text: str) -> bool:
    return bool(HAN.search(text)) and not LATIN.search(text)


def test_the_translator_writes_chinese_and_asks_for_simplified_characters(translator):
    assert translator.target_token == TARGET_TOKEN
    out = translator.translate(["a dog sitting on a sofa", "person", ""])
    assert chinese(out[0]) and chinese(out[1]) and out[2] == ""
    assert out[0] != out[1]  # different sources, different translations (the source reached the decoder)
    assert translator.translate(["a dog sitting on a sofa"]) == out[:1]  # deterministic


def test_int8_translator_loads_and_translates(tiny_marian_dir):
    quantized = load_translator(str(tiny_marian_dir), language="zh_CN", precision="int8")
    assert chinese(quantized.translate_one("a man riding a bike"))


def test_the_catalog_names_a_translation_model_per_language_and_the_store_fetches_its_spm_files():
    assert translation_model_for("zh_CN").name == "opus-mt-en-zh"
    assert translation_model_for("de").name == "opus-mt-en-de"
    assert translation_model_for("es_MX").name == "opus-mt-en-es"
    assert not needs_translation("en_GB") and needs_translation("zh_CN")
    for name in ("opus-mt-en-zh", "opus-mt-en-de", "opus-mt-en-es"):
        entry = catalog_entry(name)
        assert entry.family == "marian" and "translate" in entry.capabilities and entry.license
    assert all("translate" not in e.capabilities for e in CAPTIONERS) and len(CAPTIONERS) < len(CATALOG)
    files = ["config.json", "pytorch_model.bin", "source.spm", "target.spm", "vocab.json", "tokenizer_config.json",
             "tf_model.h5", "rust_model.ot"]
    chosen = select_files(files)
    assert {"source.spm", "target.spm", "vocab.json", "pytorch_model.bin"} <= set(chosen)


def test_a_downloaded_model_loads_by_language_from_the_hub_cache(tiny_marian_dir):
    install_in_hub_cache(tiny_marian_dir, "Helsinki-NLP/opus-mt-en-zh", hub_cache_dir())
    t = load_translator_for("zh_CN", precision="fp32")
    assert t.model_id == "opus-mt-en-zh" and t.target_token == TARGET_TOKEN
    assert chinese(t.translate_one("a cat lying on a bed"))
    assert load_translator_for("en_US") is None


def test_a_missing_translation_model_says_what_to_run():
    with pytest.raises(ModelNotAvailable) as caught:
        load_translator_for("de_DE")
    assert "models download opus-mt-en-de" in str(caught.value)


def test_read_text_stays_exact_unless_asked(translator):
    d = Description(kind=ImageKind.PHOTO, caption="a dog sitting on a sofa",
                    objects=[DetectedObject("dog", (0, 0, 1, 1)), DetectedObject("dog", (1, 1, 2, 2))],
                    text_lines=[TextLine("EXIT 12", (0, 0, 10, 10), 0.9)])
    kept = translate_description(d, translator)
    assert chinese(kept.caption) and all(chinese(o.label) for o in kept.objects)
    assert kept.objects[0].label == kept.objects[1].label
    assert [t.text for t in kept.text_lines] == ["EXIT 12"] and "translate" in kept.timings_ms
    assert d.caption == "a dog sitting on a sofa"  # the original is not changed
    asked = translate_description(d, translator, translate_text=True)
    assert asked.text_lines[0].text != "EXIT 12" and chinese(asked.text_lines[0].text)
    assert translate_description(d, None) is d


def test_the_describer_speaks_a_chinese_description_with_the_text_exact(tiny_git_dir, translator):
    set_language("zh_CN")
    describer = Describer(load_captioner(str(tiny_git_dir)), ocr=OcrEngine(), translator=translator)
    photo = describer.describe(photo_image())
    assert chinese(photo.caption) and photo.timings_ms["translate"] > 0
    page = describer.describe(text_image(["Invoice 2041", "Total due 35 EUR"]))
    assert chinese(page.caption)
    assert "Invoice" in page.text and "2041" in page.text  # read text: exact
    speech = render.describe(page).speech
    assert page.caption.strip("。") in speech and "Invoice" in speech


def test_more_detail_is_translated_once_and_said_before_the_objects(tiny_florence2_dir, translator, monkeypatch):
    florence = load_captioner(str(tiny_florence2_dir), precision="fp32")
    english = Describer(florence, use_ocr=False).add_detail(photo_image())
    asked: list[str] = []
    translate = translator.translate
    monkeypatch.setattr(translator, "translate", lambda texts: (asked.extend(texts), translate(texts))[1])
    handed: list[Description] = []
    d = Describer(florence, use_ocr=False, translator=translator).add_detail(photo_image(), on_detail=handed.append)
    assert english.detailed_caption and asked.count(english.detailed_caption) == 1  # once, not again at the end
    assert chinese(d.detailed_caption) and handed[-1].detailed_caption == d.detailed_caption
    assert handed[-1].objects == [] and d.timings_ms["translate"] > 0


def test_a_batch_is_translated_too(tiny_git_dir, translator):
    describer = Describer(load_captioner(str(tiny_git_dir)), use_ocr=False, translator=translator)
    out = describer.describe_batch([photo_image(), Image.new("RGB", (64, 64), "white")])
    assert chinese(out[0].caption) and out[1].kind is ImageKind.BLANK


def test_a_long_text_is_translated_within_the_models_positions(translator):
    # The tiny model has 128 positions: a long read text must be cut, not crash the description.
    long_text = " ".join(["a dog sitting on a sofa in a living room"] * 40)
    d = Description(kind=ImageKind.DOCUMENT, caption=long_text,
                    text_lines=[TextLine(long_text, (0, 0, 1, 1), 0.9)])
    out = translate_description(d, translator, translate_text=True)
    assert chinese(out.caption) and chinese(out.text_lines[0].text)


def test_a_failing_translation_keeps_the_english_description(translator, monkeypatch):
    d = Description(kind=ImageKind.PHOTO, caption="a dog sitting on a sofa")

    def broken(texts):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(translator, "_generate", broken)
    monkeypatch.setattr(translator, "_cache", {})
    assert translate_description(d, translator) is d
