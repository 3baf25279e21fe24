"""Build hook only (everything else is in pyproject.toml): compile the translation catalogs.

The `.po` files under engine/locale/ are the sources kept in git; the `.mo` files gettext reads are compiled
from them here, when a wheel is built, with Babel (a build requirement), so they ship as package data and
are never stale. A checkout compiles them in devtools/setup.sh (./run.sh, ./test.sh) the same way.
"""
from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

LOCALE_DIR = Path(__file__).resolve().parent / "engine" / "locale"


def compile_catalogs(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Compile every <lang>/LC_MESSAGES/*.po into the .mo next to it. Fuzzy entries are left out (gettext
    falls back to English for them), as `msgfmt` does."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        written.append(mo)
    return written


class BuildPyWithCatalogs(build_py):
    def run(self) -> None:
        compile_catalogs()
        super().run()


if __name__ == "__main__":  # setuptools runs this file as __main__; devtools/compile_catalogs.py imports it
    setup(cmdclass={"build_py": BuildPyWithCatalogs})
