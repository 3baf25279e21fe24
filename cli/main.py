"""Describe Aloud: hear what is on the screen or in a photo.

The program's entry point: `describe-aloud` installed, `python main.py` in a source checkout (both start
the app with no command; `--help` lists the commands). `describe-aloud-gui` starts the app for desktop
launchers.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from describe_aloud.engine.i18n import _
from describe_aloud.engine.invocation import command_words

# Each module in cli/ registers one or more subcommands.
COMMAND_MODULES = (
    "describe_aloud.cli.gui_cmd",
    "describe_aloud.cli.describe_cmd",
    "describe_aloud.cli.ask_cmd",
    "describe_aloud.cli.screen_cmd",
    "describe_aloud.cli.batch_cmd",
    "describe_aloud.cli.models_cmd",
    "describe_aloud.cli.history_cmd",
    "describe_aloud.cli.voices_cmd",
    "describe_aloud.cli.train_cmd",
    "describe_aloud.cli.evaluate_cmd",
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
    # Idle OpenMP threads spin only briefly, then sleep. Must be set before torch is imported.
    # - Not the runtimes' long spin (LLVM/Intel OpenMP: 200 ms): on a 2-core machine a spinning torch thread
    #   steals the core OCR or speech needs (measured: a 2-thread bf16 generate took 2.7-11 s while other
    #   work ran beside it, 0.8 s when idle threads slept).
    # - Not OMP_WAIT_POLICY=PASSIVE either: sleeping at once makes every one of the ~40 operators of a
    #   decoding step wake its threads through the kernel; a 30-token GIT-base caption took 0.59 s passive
    #   against 0.39 s with a spin of 10000 rounds (libgomp, tens of microseconds) on the 2-core machine.
    # The user's own settings win.
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", "10000")  # libgomp: Linux torch wheels
        os.environ.setdefault("KMP_BLOCKTIME", "1")  # milliseconds; LLVM / Intel OpenMP (macOS, Windows)


def _split_language(argv: list[str]) -> tuple[str | None, list[str]]:
    """(the value of --language, the arguments without it). --language goes before the command:
    `describe-aloud --language zh_CN describe photo.jpg`, `--language=de`."""
    if argv[:1] == ["--language"] and len(argv) >= 2:
        return argv[1], argv[2:]
    if argv[:1] and argv[0].startswith("--language="):
        return argv[0].split("=", 1)[1], argv[1:]
    return None, argv


def _set_language(chosen: str | None) -> None:
    """Before any help text is made: --language, else the language chosen in Settings, else the system's."""
    from describe_aloud.engine.i18n import set_language

    from describe_aloud.engine.config import Settings

    from_settings = not chosen
    settings = None
    if not chosen:
        try:
            settings = Settings.load()
            chosen = settings.language
        except Exception:  # noqa: BLE001 - unreadable settings: the system's language
            chosen = None
    set_language(chosen)
    if chosen and not from_settings:  # --language given: a language the app cannot speak is said
        from describe_aloud.engine.i18n import missing_catalog_note

        if note := missing_catalog_note(chosen):
            print(note, file=sys.stderr)
    _say_settings_notes(settings)


def _say_settings_notes(settings) -> None:
    """A damaged settings file (kept aside) is said once, by every command, in the chosen language."""
    from describe_aloud.engine.config import Settings
    from describe_aloud.engine.settings_loader import print_load_notes

    if settings is None or settings.load_notes:  # loaded again: its notes were made before the language
        try:
            settings = Settings.load()
        except Exception:  # noqa: BLE001 - the command says what it needs; the detail is in the debug log
            logging.getLogger(__name__).debug("settings could not be loaded", exc_info=True)
            return
    print_load_notes(settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=" ".join(command_words()),
        description=_("Hear what is on your screen or in a photo, described on this computer."),
    )
    parser.add_argument("--language", metavar="LANG",
                        help=_("The language of the app and of its descriptions, e.g. zh_CN, de or en, "
                               "instead of the system's (or the one chosen in Settings)."))
    parser.set_defaults(func=None)  # each command sets its own
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    language, command_argv = _split_language(argv)
    _set_offline_mode(command_argv)
    _set_thread_policy()
    _set_language(language)
    # describe-screen & co. reach a running app before the other commands are imported (desktop shortcuts).
    if (code := importlib.import_module("describe_aloud.cli.screen_cmd").fast_path(command_argv)) is not None:
        return code
    parser = build_parser()
    if not command_argv:
        argv = [*argv, "gui"]
    args = parser.parse_args(argv)
    if args.func is None:
        parser.print_help()
        return 2
    # --save-audio / --save-image: a folder, a wrong kind or an existing file is refused before any work.
    from describe_aloud.cli.common import check_output_options

    if (refusal := check_output_options(args)) is not None:
        print(refusal, file=sys.stderr)
        return 2
    return int(args.func(args) or 0)


def gui_main() -> int:
    """The desktop launcher's entry point: the app, whatever arguments the launcher passed."""
    return main(["gui"])


if __name__ == "__main__":
    sys.exit(main())
