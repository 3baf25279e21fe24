"""The translation catalogs: they compile, Simplified Chinese is complete, every placeholder of the English
template is kept in each translation, and the command line speaks the language chosen with --language."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from describe_aloud.engine.i18n import DOMAIN, LOCALE_DIR, available_languages, set_language

ROOT = Path(__file__).resolve().parents[2]
FIELD = re.compile(r"\{([a-z_]*)[^{}]*\}")
COMPLETE = ("zh_CN", "de")
HISTORY_COUNT = ("{count} description in the history.", "{count} descriptions in the history.")  # gui/history_view.py


def catalogs():
    from babel.messages.pofile import read_po

    out = {}
    for po in sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po.open("rb") as f:
            out[po.parent.parent.name] = read_po(f)
    return out


def test_there_are_catalogs_for_chinese_and_one_more_language():
    langs = set(catalogs())
    assert "zh_CN" in langs and langs & {"de", "es"}


def test_every_catalog_compiles_and_is_found(tmp_path):
    from babel.messages.mofile import write_mo

    for lang, catalog in catalogs().items():
        with (tmp_path / f"{lang}.mo").open("wb") as f:
            write_mo(f, catalog)
        assert (tmp_path / f"{lang}.mo").stat().st_size > 1000
    assert set(catalogs()) <= set(available_languages())  # compiled in this checkout by devtools/setup.sh


@pytest.mark.parametrize("lang", COMPLETE)
def test_simplified_chinese_is_complete(lang):
    catalog = catalogs()[lang]
    missing = [m.id for m in catalog if m.id and (m.fuzzy or not all(
        m.string if isinstance(m.string, (list, tuple)) else [m.string]))]
    assert not missing, f"{len(missing)} untranslated in {lang}: {missing[:10]}"


def test_the_catalog_is_up_to_date_with_the_source():
    """Every string marked in the source is in the zh_CN catalog (run devtools/i18n.sh after marking)."""
    from babel.messages.extract import extract_from_dir

    keywords = {"_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "N_": None}
    catalog = catalogs()["zh_CN"]
    known = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id}
    missing = []
    for folder in ("engine", "gui", "cli"):
        for _file, _line, message, _comments, context in extract_from_dir(ROOT / folder, keywords=keywords):
            msgid = message if isinstance(message, str) else message[0]
            if (context, msgid) not in known:
                missing.append(msgid)
    assert not missing, f"{len(missing)} marked strings are not in the catalog (devtools/i18n.sh): {missing[:5]}"


def test_translations_keep_every_placeholder():
    for lang, catalog in catalogs().items():
        for m in catalog:
            if not m.id or not m.string:
                continue
            ids = m.id if isinstance(m.id, (list, tuple)) else [m.id]
            strings = m.string if isinstance(m.string, (list, tuple)) else [m.string]
            wanted = set(FIELD.findall(ids[-1])) | set(FIELD.findall(ids[0]))
            for s in strings:
                if s:
                    assert set(FIELD.findall(s)) <= wanted and set(FIELD.findall(s)) >= set(FIELD.findall(ids[0])) - {""}, (lang, m.id, s)


def test_plural_forms_follow_the_language():
    from describe_aloud.engine.i18n import ngettext

    set_language("zh_CN")
    try:
        one = ngettext(*HISTORY_COUNT, 1)
        many = ngettext(*HISTORY_COUNT, 3)
        assert one == many and "{count}" in one and HAN(one)  # Chinese has one form
    finally:
        set_language("en")
    assert ngettext(*HISTORY_COUNT, 1).format(count=1) == "1 description in the history."
    assert ngettext(*HISTORY_COUNT, 3).format(count=3) == "3 descriptions in the history."


def HAN(text: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", text))


def test_the_command_line_speaks_the_chosen_language():
    run = [sys.executable, str(ROOT / "main.py")]
    env_cwd = dict(cwd=ROOT, capture_output=True, text=True, timeout=120)
    zh = subprocess.run([*run, "--language", "zh_CN", "--help"], **env_cwd)
    assert zh.returncode == 0, zh.stderr
    assert "在这台电脑上" in zh.stdout  # the program's description, from the catalog
    de = subprocess.run([*run, "--language=de", "models", "--help"], **env_cwd)
    assert de.returncode == 0 and HAN(de.stdout) is False and "Modell" in de.stdout, de.stdout
    en = subprocess.run([*run, "--language", "en", "--help"], **env_cwd)
    assert "described on this computer" in en.stdout
