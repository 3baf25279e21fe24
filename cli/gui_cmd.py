"""`python main.py gui [--model NAME_OR_PATH] [--precision P]`: start the desktop app (also the default)."""
from __future__ import annotations

import argparse

from describe_aloud.engine.device import PRECISIONS  # light: no torch at import


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gui",
        help="start the app (the default when no command is given)",
        description="Start Describe Aloud: global hotkeys describe the screen; drop, paste or open images.",
    )
    parser.add_argument("--model", metavar="NAME_OR_PATH",
                        help="captioner for this run (catalog name, Hugging Face id, folder or checkpoint); "
                             "the saved setting is not changed")
    parser.add_argument("--precision", choices=PRECISIONS, help="model precision for this run")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Qt is imported only here, so the other commands stay light.
    from describe_aloud.gui.app import run_app

    return run_app(model=args.model, precision=args.precision)
