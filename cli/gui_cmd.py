"""`describe-aloud gui [--model NAME_OR_PATH] [--precision P]`: start the desktop app (also the default)."""
from __future__ import annotations

import argparse

from describe_aloud.cli.common import add_model_arguments
from describe_aloud.engine.i18n import N_, _


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gui",
        help=_("Start the app (the default when no command is given)."),
        description=_("Start Describe Aloud: global hotkeys describe the screen; drop, paste or open images."),
    )
    # No precision default: without --precision the app keeps the precision saved in its settings.
    add_model_arguments(
        parser,
        model_help=N_("The captioner for this run: a catalog name, a Hugging Face id, a model folder or a "
                      "checkpoint. The saved setting is not changed."),
        precision_help=N_("The model's precision for this run. The saved setting is not changed."),
        precision_default=None,
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Qt is imported only here, so the other commands stay light.
    from describe_aloud.gui.launch import run_app

    return run_app(model=args.model, precision=args.precision)
