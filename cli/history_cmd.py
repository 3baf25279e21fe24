"""`describe-aloud history`: print past descriptions from the app's history.

    history --last [--json]        the newest description
    history --search TEXT [--json] descriptions containing every word of TEXT, newest first
    history [--limit N] [--json]   the N most recent (default 10)

Each entry comes with the questions asked about its image and their answers ("answers" in --json).
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time

from describe_aloud.engine import render
from describe_aloud.engine.i18n import _


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "history",
        help=_("Print past descriptions from the app's history."),
        description=_("Print past descriptions, newest first, from the history the app keeps."),
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--last", action="store_true", help=_("Print only the newest description."))
    what.add_argument("--search", metavar="TEXT", help=_("Only descriptions containing every word of TEXT."))
    parser.add_argument("--limit", type=_at_least_one, default=10, metavar="N",
                        help=_("Print at most N entries (default 10)."))
    parser.add_argument("--json", action="store_true", help=_("Print JSON instead of text."))
    parser.set_defaults(func=run)


def _at_least_one(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(_("the limit must be a whole number of 1 or more, not {value!r}").format(
            value=value))
    return number


def _format_entry(entry, conversation: str) -> str:
    """The entry, then the questions asked about it and their answers (as the Ask dialog shows them). Shown,
    never obeyed: a file's name, a screen's text and a question can hold terminal escapes."""
    from describe_aloud.engine.text_safety import for_terminal, printable_path

    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.time))
    source = printable_path(entry.source) if entry.source else _("unknown source")
    text = f"[{entry.id}] {when}  {source}  ({render.kind_name(entry.kind) if entry.kind else '?'})\n{entry.text}"
    return for_terminal(text + "\n" + conversation if conversation else text)


def run(args: argparse.Namespace) -> int:
    from describe_aloud.engine.history import HistoryStore, history_path

    entries, answers, conversations = [], {}, {}
    if history_path().exists():  # (opening would create an empty file; nothing yet is said below)
        try:
            with HistoryStore() as store:
                if args.last:
                    latest = store.latest()
                    entries = [latest] if latest else []
                elif args.search is not None:
                    entries = store.search(args.search, limit=max(1, args.limit))
                else:
                    entries = store.recent(max(1, args.limit))
                for entry in entries:  # the questions asked about each entry, kept with it
                    answers[entry.id] = store.answers(entry.id)
                    conversations[entry.id] = render.conversation(store.conversation(entry.id))
        except (sqlite3.Error, OSError) as exc:  # a damaged file: a sentence, never a traceback
            print(_("The history file {path} cannot be read ({reason}). It was left as it is; move it away "
                    "to start a new history.").format(path=history_path(), reason=exc), file=sys.stderr)
            return 1

    if args.json:
        records = [{**e.to_dict(), "answers": answers.get(e.id, [])} for e in entries]
        payload = (records[0] if records else None) if args.last else records
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0 if (entries or not args.last) else 1

    if not entries:
        if args.search is not None:
            print(_("No description in the history contains {search!r}.").format(search=args.search), file=sys.stderr)
        else:
            print(_("The history is empty: nothing has been described yet."), file=sys.stderr)
        return 1
    print("\n\n".join(_format_entry(e, conversations.get(e.id, "")) for e in entries))
    return 0
