"""`describe-aloud ask IMAGE "QUESTION"`: ask a question about an image, answered on this computer.

    ask photo.jpg "What colour is the car?"        the answer, sentence by sentence as it is ready
    ask screen.png "What is the error message?"   the text OCR read goes to the model too
    ask photo.jpg "Is there a price?" --json      one JSON object (answer, confidence, grounding, timings)
    ask --last "What does the red button say?"    asks the running app about its last description

A question is also the way to ask *before* describing ("describe only the chart"): `ask` needs no
description first.

Exit codes: 0 answered (or delivered to the app; "I can't tell from this image" is an answer); 1 the image
could not be read, or no app is running for --last; 2 the question-answering model is not downloaded.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from describe_aloud.cli.common import add_model_arguments, add_speaking_arguments
from describe_aloud.engine.i18n import N_, _

ASK_MODEL_HELP = N_("The question-answering model: smolvlm-256m (the default), smolvlm-500m, a Hugging Face id "
                    "or a model folder.")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ask",
        help=_("Ask a question about an image, answered on this computer."),
        description=_("Ask a question about an image file (or, with --last, about the running app's last "
                      "description). Text read in the image is given to the model, so questions about it are "
                      "answered from the read text; other answers are the model's guesses and are said so."),
        epilog=_("Exit codes: 0 answered or delivered to the app; 1 the image could not be read, or no app "
                 "runs for --last; 2 the question-answering model is not downloaded."),
    )
    parser.add_argument("words", nargs="+", metavar="IMAGE QUESTION",
                        help=_("The image file, then the question (with --last: only the question)."))
    parser.add_argument("--last", action="store_true",
                        help=_("Ask the running app about its last description; it speaks the answer."))
    parser.add_argument("--json", action="store_true", help=_("Print the answer as one JSON object."))
    parser.add_argument("--no-ocr", action="store_true", help=_("Do not read the text in the image first."))
    parser.add_argument("--timeout", type=float, default=1.5, metavar="SECONDS",
                        help=_("With --last: how long to wait for the app to answer (default 1.5)."))
    add_model_arguments(parser, model_help=ASK_MODEL_HELP)
    add_speaking_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    expected = 1 if args.last else 2
    if len(args.words) != expected:
        usage = '--last "QUESTION"' if args.last else 'IMAGE "QUESTION"'
        print(_("Give {usage} (put the question in quotes).").format(usage=usage), file=sys.stderr)
        return 1
    question = " ".join(args.words[-1].split())
    if not question:  # an empty question would only get "I can't tell from this image"
        usage = '--last "QUESTION"' if args.last else 'IMAGE "QUESTION"'
        print(_("The question is empty. Give {usage} (put the question in quotes).").format(usage=usage),
              file=sys.stderr)
        return 1
    if args.last:
        return _ask_running_app(args.words[0], args.timeout)
    return _ask_here(args, args.words[0], args.words[1])


def _ask_running_app(question: str, timeout: float) -> int:
    from describe_aloud.engine.invocation import user_command
    from describe_aloud.engine.ipc import send_command

    if send_command("ask", int(timeout * 1000), argument=question):
        print(_("Sent to the running Describe Aloud app; it speaks the answer."))
        return 0
    print(_("Describe Aloud is not running, so there is no last description to ask about. Ask about an image "
            "file with: {command}").format(command=user_command("ask", "IMAGE", question)), file=sys.stderr)
    return 1


def _ask_here(args: argparse.Namespace, path: str, question: str) -> int:
    from describe_aloud.engine import render
    from describe_aloud.engine.ask import load_asker
    from describe_aloud.engine.errors import ModelNotAvailable, UserFacingError, user_message
    from describe_aloud.engine.images import load_image

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        image = load_image(path)
    except UserFacingError as exc:
        _fail(path, question, str(exc), args.json)
        return 1
    lines = [] if args.no_ocr else _read_text(image)
    try:
        asker = load_asker(args.model, precision=args.precision or "auto")
    except ModelNotAvailable as exc:
        _fail(path, question, str(exc), args.json)
        return 2
    except Exception as exc:  # noqa: BLE001 - every failure is a sentence for the user
        _fail(path, question, user_message(exc, doing=_("The question could not be answered")), args.json)
        return 1
    stream = asker.ask(image, question, lines=lines)
    previous = None
    for sentence in stream:  # printed as soon as each sentence is complete (streamed)
        if not args.json:
            print(render.answer_sentence(sentence, previous=previous).speech, flush=True)
        previous = sentence.grounding
    answer = stream.answer
    rendering = render.answer(answer)
    if args.json:
        record = {"path": path, "question": question, "speech": rendering.speech, "text_lines": lines,
                  **{k: v for k, v in answer.to_dict().items() if k != "question"}}
        print(json.dumps(record, ensure_ascii=False), flush=True)
    elif answer.unsure:
        print(rendering.speech, flush=True)
    if args.speak or args.save_audio:
        from describe_aloud.cli.describe_cmd import speak_texts

        return speak_texts(args, [rendering.speech])
    return 0


def _read_text(image) -> list[str]:
    """The lines OCR reads (given to the model); a failure is said and the question still answered."""
    from describe_aloud.engine.errors import user_message
    from describe_aloud.engine.ocr import OcrEngine

    try:
        return [line.text for line in OcrEngine().read(image)]
    except Exception as exc:  # noqa: BLE001 - the question can be answered without the read text
        print(user_message(exc, doing=_("The text in the image could not be read")), file=sys.stderr)
        return []


def _fail(path: str, question: str, message: str, as_json: bool) -> None:
    print(message, file=sys.stderr, flush=True)
    if as_json:
        print(json.dumps({"path": path, "question": question, "error": message}, ensure_ascii=False), flush=True)
