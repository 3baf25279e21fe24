"""The options several commands share (cli/common.py): the same choices, defaults and help everywhere."""
from __future__ import annotations

import argparse

import pytest

from describe_aloud.cli.main import build_parser
from describe_aloud.cli.screen_cmd import APP_ONLY, DEFAULT_REGION_SIZE, SCREEN_COMMANDS
from describe_aloud.engine.catalog import DEFAULT_DETAIL_MODEL, DEFAULT_MODEL
from describe_aloud.engine.device import PRECISIONS
from describe_aloud.cli.common import chosen_model

MODEL_COMMANDS = ["gui", "describe", "batch", "evaluate", *(c for c in SCREEN_COMMANDS if c not in APP_ONLY)]
SPEECH_GROUP = "speech (voice, rate, volume and output are remembered)"  # engine/speech/options.py


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every command's parser by its words ("describe", "models download")."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = sub
                found.update({f"{name} {inner}": p for inner, p in subcommands(sub).items()})
    return found


def option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action:
    return next(a for a in parser._actions if flag in a.option_strings)


@pytest.mark.parametrize("command", MODEL_COMMANDS)
def test_every_model_command_offers_the_engine_precisions(command):
    parser = subcommands(build_parser())[command]
    assert tuple(option(parser, "--precision").choices) == PRECISIONS
    assert option(parser, "--model").metavar == "NAME_OR_PATH"


def test_an_unknown_precision_is_refused_with_the_choices(capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["describe", "photo.jpg", "--precision", "fp8"])
    assert exited.value.code == 2
    assert "invalid choice: 'fp8'" in capsys.readouterr().err


def test_precision_defaults_auto_except_for_the_app_which_keeps_its_saved_setting():
    parser = build_parser()
    assert parser.parse_args(["describe", "photo.jpg"]).precision == "auto"
    assert parser.parse_args(["describe-screen"]).precision == "auto"
    assert parser.parse_args(["gui"]).precision is None
    assert parser.parse_args(["gui", "--precision", "int8"]).precision == "int8"


def test_evaluate_requires_a_model(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["evaluate", "--data", "c.json", "--images", "imgs"])
    assert "--model" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "expected"), [
    (["describe", "a.png"], DEFAULT_MODEL),
    (["describe", "a.png", "--detail"], DEFAULT_DETAIL_MODEL),
    (["batch", "photos", "--detail", "--model", "blip-base"], "blip-base"),
    (["describe-window", "--detail"], DEFAULT_DETAIL_MODEL),
])
def test_the_model_is_the_one_given_else_the_catalog_default(argv, expected):
    assert chosen_model(build_parser().parse_args(argv)) == expected


@pytest.mark.parametrize("command", list(SCREEN_COMMANDS))
def test_screen_commands_all_carry_the_attributes_run_reads(command):
    args = build_parser().parse_args([command])
    assert args.screen_command == command and args.json is False
    assert args.region_size == DEFAULT_REGION_SIZE
    if command not in APP_ONLY:
        assert (args.speak, args.save_audio, args.save_image, args.detail, args.no_ocr) == (
            False, None, None, False, False)
        assert args.voice is None  # the speech options are there too


def test_describe_and_the_screen_commands_take_the_speech_options():
    parser = build_parser()
    args = parser.parse_args(["describe", "a.png", "--speak", "--rate", "200", "--queue"])
    assert (args.speak, args.rate, args.queue) == (True, 200, True)
    args = parser.parse_args(["describe-screen", "--save-audio", "out.wav", "--voice", "en-us"])
    assert (args.save_audio, args.voice) == ("out.wav", "en-us")


def is_sentence(text: str) -> bool:
    return (text[0].isupper() or text.startswith("auto ")) and text.endswith(".")


def test_help_texts_of_the_commands_and_their_options_are_sentences():
    """What `--help` lists reads as sentences (the speech options come from engine/speech/options.py)."""
    not_sentences = []
    parser = build_parser()
    for words, sub in {"": parser, **subcommands(parser)}.items():
        speech = [g for g in sub._action_groups if g.title == SPEECH_GROUP]
        speech_actions = speech[0]._group_actions if speech else []
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):  # the list of commands
                not_sentences += [f"{words} {a.dest}: {a.help}" for a in action._choices_actions
                                  if not is_sentence(a.help)]
            elif not isinstance(action, argparse._HelpAction) and action not in speech_actions:
                if not is_sentence(action.help):
                    not_sentences.append(f"{words} {action.option_strings or action.dest}: {action.help}")
    assert not_sentences == []
