"""`describe-aloud history`: print past descriptions from the app's history.

    history --last [--json]        the newest description
    history --search TEXT [--json] descriptions containing every word of TEXT, newest first
    history [--limit N] [--json]   the N most recent (default 10)
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time

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
    parser.add_argument("--limit", type=int, default=10, metavar="N", help=_("Print at most N entries (default 10)."))
    parser.add_argument("--json", action="store_true", help=_("Print JSON instead of text."))
    parser.set_defaults(func=run)


def _format_entry(entry) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.time))
    source = entry.source or _("unknown source")
    return f"[{entry.id}] {when}  {source}  ({entry.kind})\n{entry.text}"


def run(args: argparse.Namespace) -> int:
    from describe_aloud.engine.history import HistoryStore, history_path

    if not history_path().exists():
        # Opening would create an empty file; just say there is nothing yet.
        entries = []
    else:
        try:
            with HistoryStore() as store:
                if args.last:
                    latest = store.latest()
                    entries = [latest] if latest else []
                elif args.search is not None:
                    entries = store.search(args.search, limit=max(1, args.limit))
                else:
                    entries = store.recent(max(1, args.limit))
        except (sqlite3.Error, OSError) as exc:  # a damaged file: a sentence, never a traceback
            print(_("The history file {path} cannot be read ({reason}). It was left as it is; move it away "
                    "to start a new history.").format(path=history_path(), reason=exc), file=sys.stderr)
            return 1

    if args.json:
        if args.last:
            payload = entries[0].to_dict() if entries else None
        else:
            payload = [e.to_dict() for e in entries]
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0 if (entries or not args.last) else 1

    if not entries:
        if args.search is not None:
            print(_("No description in the history contains {search!r}.").format(search=args.search), file=sys.stderr)
        else:
            print(_("The history is empty: nothing has been described yet."), file=sys.stderr)
        return 1
    print("\n\n".join(_format_entry(e) for e in entries))
    return 0
