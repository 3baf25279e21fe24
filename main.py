"""Describe Aloud: hear what is on the screen or in a photo.

`python main.py` starts the app; `python main.py --help` lists the commands.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

# Each module in cli/ registers one or more subcommands.
COMMAND_MODULES = (
    "cli.gui_cmd",
    "cli.describe_cmd",
    "cli.screen_cmd",
    "cli.batch_cmd",
    "cli.models_cmd",
    "cli.history_cmd",
    "cli.voices_cmd",
    "cli.train_cmd",
    "cli.evaluate_cmd",
)

# Commands allowed to reach the model hub. Everything else runs with the hub switched off, so a cached
# model never causes a network connection.
ONLINE_COMMANDS = {"models"}


def _set_offline_mode(argv: list[str]) -> None:
    command = next((a for a in argv if not a.startswith("-")), "gui")
    if command not in ONLINE_COMMANDS:
        # Must happen before huggingface_hub / transformers are imported: they read it at import time.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _set_thread_policy() -> None:
    # Idle OpenMP threads must sleep, not spin: on a 2-core machine a spinning torch thread steals the core
    # OCR or speech needs (measured: a 2-thread bf16 generate took 2.7-11 s spinning vs 0.8 s passive
    # while other work ran). Must be set before torch is imported.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Hear what is on your screen or in a photo, described on this computer.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _set_offline_mode(argv)
    _set_thread_policy()
    if (code := importlib.import_module("cli.screen_cmd").fast_path(argv)) is not None:  # describe-screen
        return code  # & co. reach a running app before the other commands are imported (desktop shortcuts)
    parser = build_parser()
    if not argv:
        argv = ["gui"]
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
