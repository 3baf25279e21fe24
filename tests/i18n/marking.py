"""Find user-visible strings that are not marked for translation (used by test_marked_strings.py, and by
devtools/i18n.sh to list them): an AST scan of gui/, cli/ and the engine.

A "sink" is a place whose text reaches the user: a widget's text, title, accessible name or tooltip; an
action, a menu, a message box; print(); argparse's help, description and epilog; speech and status calls;
the message of an error meant for the user (engine.errors.UserFacingError and its subclasses); a module
constant named *_MESSAGE / *_TITLE / *_HELP / *_LABEL(S). A string reaching a sink must come out of `_()`,
`ngettext()` or `pgettext()` (or be marked `N_()` where it is defined and translated with `_()` where shown).

Flagged: a literal with letters in it, an f-string with letters in its fixed parts (f-strings cannot be
extracted: use `_("... {name} ...").format(name=...)`), and literals glued with + or %. A line may opt out
with the comment `# i18n: not user text` (a JSON key, a command name, a file name pattern), saying why.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("gui", "cli", "engine")
PRAGMA = "# i18n: not user text"
MARKERS = {"_", "ngettext", "pgettext", "N_"}
LETTERS = re.compile(r"[A-Za-z]{2,}")
FIELD = re.compile(r"\{[^{}]*\}")

# callee name -> which positional arguments carry user text ("*" = all), and which keywords.
CALL_SINKS: dict[str, tuple[tuple[int, ...] | str, tuple[str, ...]]] = {
    # widgets built with their text
    "QLabel": ((0,), ()), "QPushButton": ((0,), ()), "QCheckBox": ((0,), ()), "QRadioButton": ((0,), ()),
    "QGroupBox": ((0,), ()), "QAction": ((0, 1), ()), "QToolButton": ((), ()), "QMenu": ((0,), ()),
    "QListWidgetItem": ((0,), ()), "QMessageBox": ((1, 2), ()),
    # widget text setters
    "setText": ((0,), ()), "setWindowTitle": ((0,), ()), "setAccessibleName": ((0,), ()),
    "setAccessibleDescription": ((0,), ()), "setToolTip": ((0,), ()), "setStatusTip": ((0,), ()),
    "setWhatsThis": ((0,), ()), "setPlaceholderText": ((0,), ()), "setTitle": ((0,), ()),
    "setLabelText": ((0,), ()), "setSuffix": ((0,), ()), "setPrefix": ((0,), ()),
    "setSpecialValueText": ((0,), ()), "setHorizontalHeaderLabels": ((0,), ()), "setWindowIconText": ((0,), ()),
    "setInformativeText": ((0,), ()), "setDetailedText": ((0,), ()), "setPlainText": ((0,), ()),
    "addAction": ((0,), ()), "addMenu": ((0,), ()), "addTab": ((1,), ()), "addItem": ((0,), ()),
    "insertItem": ((1,), ()), "addRow": ((0,), ()), "showMessage": ((0, 1), ()),
    "information": ((1, 2), ()), "warning": ((1, 2), ()), "critical": ((1, 2), ()), "question": ((1, 2), ()),
    "about": ((1, 2), ()), "getOpenFileName": ((1,), ("caption",)), "getOpenFileNames": ((1,), ("caption",)),
    "getSaveFileName": ((1,), ("caption",)), "getExistingDirectory": ((1,), ("caption",)),
    # speech and status
    "announce": ((1,), ()), "set_status": ((0,), ()), "report_error": ("*", ()), "say": ("*", ()),
    "speak": ("*", ()), "speak_text": ("*", ()), "emit": ("*", ()), "_status": ((0,), ()),
    "status": ((0,), ()), "on_status": ((0,), ()), "_name": ((1, 2), ()), "_label": ((0,), ()),
    "notify": ("*", ()), "_set_status": ((0,), ()), "_say": ("*", ()), "setFormat": ((0,), ()),
    "run_job": ((), ("doing", "memory")),
    # the batch's reasons, shown in its summary
    "MetadataResult": ((2,), ()), "MetadataError": ("*", ()), "LoadedImage": ((), ("error",)), "_failed": ((1,), ()),
    # the command line
    "print": ("*", ()), "error": ((0,), ()), "exit": ((0,), ()),
    "add_argument": ((), ("help",)), "add_parser": ((), ("help", "description", "epilog")),
    "ArgumentParser": ((), ("description", "epilog")), "add_argument_group": ((0, 1), ("title", "description")),
    "add_subparsers": ((), ("title", "description", "help")),
    # errors meant for the user: filled in from engine.errors' class tree (see user_error_classes)
    "user_message": ((), ("doing", "memory")),
}
CONSTANT_NAME = re.compile(r"(^|_)(MESSAGE|MESSAGES|TITLE|HELP|LABEL|LABELS|PROMPT|HINT|CHOICES)$")


@dataclass(frozen=True)
class Unmarked:
    path: str
    line: int
    sink: str
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.sink}: {self.text}"


def python_files() -> list[Path]:
    files: list[Path] = []
    for folder in SCANNED:
        files += sorted((ROOT / folder).rglob("*.py"))
    return [f for f in files if "__pycache__" not in f.parts]


def user_error_classes(trees: dict[Path, ast.Module]) -> set[str]:
    """UserFacingError and every class that derives from it (by name, across the scanned modules)."""
    found = {"UserFacingError"}
    bases: dict[str, set[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
    changed = True
    while changed:
        changed = False
        for name, parents in bases.items():
            if name not in found and parents & found:
                found.add(name)
                changed = True
    return found


def _callee(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _is_log_call(node: ast.Call) -> bool:
    func = node.func
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in (
        "log", "logger", "logging")


def _has_words(text: str) -> bool:
    return bool(LETTERS.search(FIELD.sub("", text)))


def unmarked_text(node: ast.AST) -> str | None:
    """The offending source text when `node` is (or glues) an unmarked literal with words in it."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return repr(node.value) if _has_words(node.value) else None
    if isinstance(node, ast.JoinedStr):
        fixed = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
        return "f-string " + repr(fixed) if _has_words(fixed) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return unmarked_text(node.left) or (unmarked_text(node.right) if isinstance(node.op, ast.Add) else None)
    if isinstance(node, ast.IfExp):
        return unmarked_text(node.body) or unmarked_text(node.orelse)
    if isinstance(node, ast.BoolOp):  # message or "default text"
        return next((t for t in map(unmarked_text, node.values) if t), None)
    if isinstance(node, (ast.List, ast.Tuple)):
        return next((t for t in map(unmarked_text, node.elts) if t), None)
    if isinstance(node, ast.Call):
        callee = _callee(node)
        if callee in MARKERS:
            # _(f"...") cannot be extracted: the catalog would need every possible value.
            if node.args and isinstance(node.args[0], ast.JoinedStr):
                return "f-string inside " + callee + "()"
            return None
        if callee in ("format", "join") and isinstance(node.func, ast.Attribute):
            return unmarked_text(node.func.value)
    return None


def _labels(node: ast.AST) -> list[ast.AST]:
    """The label parts of a constant: a table of (label, value) pairs has its labels first."""
    if isinstance(node, (ast.Tuple, ast.List)) and node.elts and all(
            isinstance(e, (ast.Tuple, ast.List)) and e.elts for e in node.elts):
        return [e.elts[0] for e in node.elts]
    return [node]


def scan_file(path: Path, tree: ast.Module, lines: list[str], user_errors: set[str]) -> list[Unmarked]:
    found: list[Unmarked] = []
    rel = path.relative_to(ROOT).as_posix()

    def opted_out(node: ast.AST) -> bool:
        last = getattr(node, "end_lineno", node.lineno)
        return any(PRAGMA in lines[i - 1] for i in range(node.lineno, last + 1))

    def check(sink: str, node: ast.AST, where: ast.AST) -> None:
        text = unmarked_text(node)
        if text and not opted_out(where):
            found.append(Unmarked(rel, node.lineno, sink, text))

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            callee = _callee(node)
            if _is_log_call(node):
                continue  # log lines are for developers, in English
            if callee in user_errors:
                spec: tuple[tuple[int, ...] | str, tuple[str, ...]] = ("*", ("message",))
            elif callee in CALL_SINKS:
                spec = CALL_SINKS[callee]
            else:
                continue
            positions, keywords = spec
            for i, arg in enumerate(node.args):
                if positions == "*" or i in positions:  # type: ignore[operator]
                    check(callee, arg, node)
            for kw in node.keywords:
                if kw.arg in keywords:
                    check(f"{callee}({kw.arg}=)", kw.value, node)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if CONSTANT_NAME.search(node.targets[0].id):
                for value in _labels(node.value):
                    check(node.targets[0].id, value, node)
    return found


def find_unmarked() -> list[Unmarked]:
    trees: dict[Path, ast.Module] = {}
    sources: dict[Path, list[str]] = {}
    for path in python_files():
        text = path.read_text(encoding="utf-8")
        trees[path] = ast.parse(text, filename=str(path))
        sources[path] = text.splitlines()
    user_errors = user_error_classes(trees)
    found: list[Unmarked] = []
    for path, tree in trees.items():
        found += scan_file(path, tree, sources[path], user_errors)
    return sorted(found, key=lambda u: (u.path, u.line))


if __name__ == "__main__":
    problems = find_unmarked()
    for problem in problems:
        print(problem)
    print(f"{len(problems)} unmarked user-visible strings")
