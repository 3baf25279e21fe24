"""Every user-visible string in gui/, cli/ and the engine's messages is marked for translation.

The scan (tests/i18n/marking.py) looks at the places whose text reaches the user (widget texts, titles and
accessible names, actions and menus, print() and argparse help, speech and status calls, user-facing
errors, message constants) and fails on a literal that is not wrapped in _() / ngettext() / pgettext(),
an f-string there, or literals glued together. `python tests/i18n/marking.py` lists them.
"""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from tests.i18n.marking import ROOT, find_unmarked, scan_file, user_error_classes


def scan_source(source: str) -> list[str]:
    tree = ast.parse(textwrap.dedent(source))
    lines = textwrap.dedent(source).splitlines()
    errors = user_error_classes({Path("x.py"): tree})
    return [u.text for u in scan_file(ROOT / "gui" / "x.py", tree, lines, errors)]


def test_the_scan_finds_what_a_user_would_see_untranslated():
    found = scan_source('''
        class MyError(UserFacingError):
            pass
        label = QLabel("Captioner model:", parent)
        button.setAccessibleName(f"Describe {name}")
        self.status.emit("Ready")
        print("Downloaded " + name)
        parser.add_argument("--x", help="Do the thing.")
        raise MyError("The file could not be read.")
        NO_MODEL_MESSAGE = "No model is loaded."
        window.setWindowTitle(_(f"Settings {x}"))
    ''')
    assert len(found) == 8, found


def test_the_scan_accepts_marked_strings_and_non_words():
    assert scan_source('''
        label = QLabel(_("Captioner model:"), parent)
        button.setAccessibleName(_("Describe {name}").format(name=name))
        self.status.emit(_("Ready"))
        print(ngettext("{n} file", "{n} files", n).format(n=n))
        print(f"{path}: {exc}")
        print("-" * 40)
        parser.add_argument("--x", help=_(HELP))
        NO_MODEL_MESSAGE = N_("No model is loaded.")
        print(json.dumps(record))
        print("models download")  # i18n: not user text
        window.setWindowTitle(pgettext("window", "History"))
    ''') == []


def test_every_user_visible_string_is_marked_for_translation():
    unmarked = find_unmarked()
    assert not unmarked, (
        f"{len(unmarked)} user-visible strings are not marked for translation (wrap them in _(), with a "
        "named placeholder for each value):\n" + "\n".join(map(str, unmarked[:60]))
    )
