#!/usr/bin/env bash
# The translation catalogs, from the source strings to the files gettext reads (docs/translating.md):
#   devtools/i18n.sh            extract -> update every <lang>.po -> compile -> report what is untranslated
#   devtools/i18n.sh new de     start a catalog for a new language (then translate engine/locale/de/...po)
#   devtools/i18n.sh check      list user-visible strings not yet marked with _() (tests/i18n/marking.py)
# Uses Babel from the .venv (pybabel); run devtools/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYBABEL="$VENV/bin/pybabel"
DOMAIN=describe-aloud
LOCALE=engine/locale
POT=$LOCALE/$DOMAIN.pot

extract() {
    # _("..."), ngettext("one", "many", n), pgettext("context", "..."), N_("...") (marked where defined).
    # Comments starting with "Translators:" right above a string go into the catalog for the translator.
    "$PYBABEL" -q extract -o "$POT" --sort-by-file --no-wrap --add-comments=Translators: \
        -k _ -k ngettext:1,2 -k pgettext:1c,2 -k N_ \
        --project=describe-aloud --msgid-bugs-address="" --copyright-holder="" \
        engine gui cli
}

case "${1:-all}" in
    all)
        extract
        for po in "$LOCALE"/*/LC_MESSAGES/$DOMAIN.po; do
            [ -e "$po" ] || continue
            lang=$(basename "$(dirname "$(dirname "$po")")")
            "$PYBABEL" -q update --no-wrap --no-fuzzy-matching -D "$DOMAIN" -i "$POT" -d "$LOCALE" -l "$lang"
        done
        "$VENV/bin/python" devtools/compile_catalogs.py
        "$VENV/bin/python" devtools/catalog_stats.py
        ;;
    new)
        lang=${2:?usage: devtools/i18n.sh new LANG (e.g. de, pt_BR)}
        extract
        "$PYBABEL" -q init --no-wrap -D "$DOMAIN" -i "$POT" -d "$LOCALE" -l "$lang"
        echo "Now translate $LOCALE/$lang/LC_MESSAGES/$DOMAIN.po, then run devtools/i18n.sh" >&2
        ;;
    check)
        "$VENV/bin/python" -m tests.i18n.marking
        ;;
    *)
        echo "usage: $0 [all | new LANG | check]" >&2
        exit 2
        ;;
esac
