"""Options several commands share, defined once so that they read and behave the same everywhere.

    add_model_arguments(parser)        --model, --precision (choices: engine.device.PRECISIONS)
    add_description_arguments(parser) --detail, --no-ocr, --translate-text
    load_translator_or_say(args)       the translator into the app's language, or None (reason on stderr)
    add_speaking_arguments(parser)     --speak, --save-audio and the remembered speech options
    add_device_argument(parser)        --device (train, evaluate)
    add_progress_argument(parser)      --no-progress
    chosen_model(args)                 --model, else the default (or detail) model of the catalog
    print_summary(summary)             a batch's summary: what failed on stderr, the rest on stdout

Only light imports here: every command's parser is built on each run, before the command's own work.
"""
from __future__ import annotations

import argparse
import sys

from describe_aloud.engine.device import PRECISIONS  # light: torch is imported only to resolve "auto"
from describe_aloud.engine.i18n import N_, _

MODEL_HELP = N_("The captioner: a catalog name (see the models command), a Hugging Face id, a model folder "
                "or a checkpoint made by the train command.")
PRECISION_HELP = N_("The model's precision. auto, the default, uses bf16 only where the processor has it "
                    "natively; int8 is never chosen for you, because it changes the captions.")


def add_model_arguments(
    parser: argparse.ArgumentParser,
    *,
    model_help: str = MODEL_HELP,
    precision_help: str = PRECISION_HELP,
    precision_default: str | None = "auto",
    model_required: bool = False,
) -> None:
    """--model and --precision. The help texts are untranslated templates (marked with N_) and are
    translated here. `precision_default=None` means "not given" (the app then keeps its saved setting)."""
    parser.add_argument("--model", metavar="NAME_OR_PATH", required=model_required, help=_(model_help))
    parser.add_argument("--precision", choices=PRECISIONS, default=precision_default, help=_(precision_help))


def add_description_arguments(parser: argparse.ArgumentParser) -> None:
    """--detail and --no-ocr: what a description contains."""
    parser.add_argument("--detail", action="store_true",
                        help=_("Give the detailed description. It is slower, and made by the detail model "
                               "unless --model is given."))
    parser.add_argument("--no-ocr", action="store_true", help=_("Do not read the text in the image."))
    parser.add_argument("--translate-text", action="store_true",
                        help=_("Also translate the text read from the image into the language of the app. "
                               "Without it, read text is given exactly as it is written."))


def load_translator_or_say(args: argparse.Namespace):
    """The translator into the app's language (None for English). When its model is not downloaded, or
    cannot be loaded, descriptions stay in English and the reason (with the command to run) is printed
    once on stderr."""
    import sys

    from describe_aloud.engine.i18n import current_language
    from describe_aloud.engine.translation import needs_translation, translator_or_reason

    language = current_language()
    translator, problem = translator_or_reason(language if needs_translation(language) else None)
    if problem:
        print(problem, file=sys.stderr)
    return translator


def add_speaking_arguments(parser: argparse.ArgumentParser) -> None:
    """--speak and --save-audio, with the speech options (voice, rate, volume, output) they use."""
    # Imported here: the screen commands' fast path (cli/main.py) imports this module and must stay quick.
    from describe_aloud.engine.speech import add_speech_arguments

    parser.add_argument("--speak", action="store_true", help=_("Speak the description aloud."))
    parser.add_argument("--save-audio", metavar="OUT.wav",
                        help=_("Write the spoken description to a WAV file."))
    add_overwrite_argument(parser)
    add_speech_arguments(parser)


def add_overwrite_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--overwrite", action="store_true",
                        help=_("Replace the file named by --save-audio or --save-image when it already exists "
                               "(by default an existing file is left as it is)."))


def check_output_options(args: argparse.Namespace) -> str | None:
    """Check --save-audio / --save-image before any work (engine.output_paths); the refusal sentence or
    None. The options are replaced by the absolute paths, which is what the messages then name."""
    from describe_aloud.engine.output_paths import AUDIO_SUFFIXES, IMAGE_SUFFIXES, OutputRefused, check_new_file

    overwrite = getattr(args, "overwrite", False)
    try:
        for name, option, suffixes in (("save_audio", "--save-audio", AUDIO_SUFFIXES),
                                       ("save_image", "--save-image", IMAGE_SUFFIXES)):
            if getattr(args, name, None):
                setattr(args, name, str(check_new_file(getattr(args, name), option=option, suffixes=suffixes,
                                                       overwrite=overwrite)))
    except OutputRefused as exc:
        return str(exc)
    return None


def add_device_argument(parser: argparse.ArgumentParser, *, default: str | None = "auto") -> None:
    parser.add_argument("--device", default=default, help=_("auto (the default), cpu, cuda, cuda:1 and so on."))


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", action="store_true", help=_("Show no progress bar."))


def chosen_model(args: argparse.Namespace) -> str:
    """The model to load: --model when given, else the catalog's default model (its detail model with
    --detail)."""
    from describe_aloud.engine.catalog import DEFAULT_DETAIL_MODEL, DEFAULT_MODEL

    return args.model or (DEFAULT_DETAIL_MODEL if args.detail else DEFAULT_MODEL)


def print_summary(summary) -> None:  # noqa: ANN001 - a BatchSummary or a RaySummary
    """A batch's summary lines: those saying what failed or was not written on stderr, the rest on stdout
    (in every language: the lines are told apart by the summary, not by their words)."""
    problems = set(summary.problem_lines())
    for line in summary.lines():
        print(line, file=sys.stderr if line in problems else sys.stdout)
