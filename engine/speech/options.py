"""Command-line speech options shared by every command that speaks (describe, screen, voices, ...)."""
from __future__ import annotations

import argparse

from describe_aloud.engine.config import Settings
from describe_aloud.engine.i18n import _

SPEECH_OUTPUTS = {"own": "own", "screen-reader": "screen_reader", "screen_reader": "screen_reader", "auto": "auto"}


def _volume(value: str) -> float:
    try:
        volume = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(_("volume must be a number from 0 to 1, not {value!r}").format(value=value)) from None
    if not 0.0 <= volume <= 1.0:
        raise argparse.ArgumentTypeError(_("volume must be from 0 to 1, not {value}").format(value=value))
    return volume


def _rate(value: str) -> int:
    try:
        rate = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(_("rate must be words per minute, e.g. 180, not {value!r}").format(value=value)) from None
    if not 80 <= rate <= 500:
        raise argparse.ArgumentTypeError(_("rate must be from 80 to 500 words per minute, not {rate}").format(rate=rate))
    return rate


def add_speech_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --voice, --rate, --volume, --queue and --speech-output (given values are remembered)."""
    group = parser.add_argument_group(_("speech (voice, rate, volume and output are remembered)"))
    group.add_argument("--voice", metavar="ID", help=_("voice id, e.g. en-us (see the voices command)"))
    group.add_argument("--rate", metavar="WPM", type=_rate, help=_("speaking rate in words per minute (80-500)"))
    group.add_argument("--volume", metavar="0..1", type=_volume, help=_("speech volume from 0 to 1"))
    group.add_argument(
        "--queue", action="store_true",
        help=_("wait for the current speech to finish instead of interrupting it"),
    )
    group.add_argument(
        "--speech-output", choices=["auto", "own", "screen-reader"],
        help=_("speak with the app's own voice or send the text to the running screen reader "
               "(auto: the screen reader when the app detects one, else the own voice)"),
    )


def settings_from_args(args: argparse.Namespace, *, save: bool = True) -> Settings:
    """Load the settings, apply the speech options given on the command line, save them (so they are
    remembered by the app and later commands) and return them. Nothing given: nothing is written.
    `save=False`: applied for this run only (the caller checks them first, e.g. that the voice exists)."""
    settings = Settings.load()  # a damaged settings file was said by the command line (cli.main)
    changed = []
    for name in ("voice", "rate", "volume"):
        value = getattr(args, name, None)
        if value is not None and getattr(settings, name) != value:
            setattr(settings, name, value)
            changed.append(name)
    output = getattr(args, "speech_output", None)
    if output is not None and settings.speech_output != SPEECH_OUTPUTS[output]:
        settings.speech_output = SPEECH_OUTPUTS[output]
        changed.append("speech_output")
    if changed and save:
        settings.save_changes(changed)  # only these: the running app may have saved others meanwhile
    if getattr(args, "queue", False) is True:
        settings.interrupt = False  # for this run only; not remembered (a one-off wish)
    return settings
