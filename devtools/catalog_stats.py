"""How complete each translation catalog is: `python devtools/catalog_stats.py` prints, per language, the
translated, fuzzy and untranslated counts, and exits 1 when a catalog listed in REQUIRED_COMPLETE is not
100 % translated (tests/i18n/test_catalogs.py asserts the same)."""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCALE = REPO / "engine" / "locale"
DOMAIN = "describe-aloud"
REQUIRED_COMPLETE = ("zh_CN", "de")


def stats(po: Path) -> dict[str, int]:
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        catalog = read_po(f)
    counts = {"translated": 0, "fuzzy": 0, "untranslated": 0}
    for message in catalog:
        if not message.id:
            continue  # the header
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if message.fuzzy:
            counts["fuzzy"] += 1
        elif all(strings):
            counts["translated"] += 1
        else:
            counts["untranslated"] += 1
    return counts


def main() -> int:
    incomplete = []
    for po in sorted(LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        lang = po.parent.parent.name
        c = stats(po)
        total = sum(c.values())
        print(f"{lang:6s} {c['translated']:4d}/{total} translated, {c['fuzzy']} fuzzy, {c['untranslated']} untranslated")
        if lang in REQUIRED_COMPLETE and c["translated"] != total:
            incomplete.append(lang)
    if incomplete:
        print(f"Not complete: {', '.join(incomplete)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
