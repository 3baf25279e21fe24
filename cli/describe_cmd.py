"""`python main.py describe PATH [PATH...]`: describe image files (caption, text read by OCR, kind).

    describe photo.jpg screenshot.png          plain text, one block per image
    describe *.png --json                      one JSON object per line per image
    describe photo.jpg --detail                the detailed description (default detail model)
    describe photo.jpg --model blip-base       a catalog name, a Hugging Face id or a local folder
    describe photo.jpg --speak                 speak the description too
    describe photo.jpg --save-audio out.wav    write the spoken description to a WAV file

Exit codes: 0 all described; 1 some file could not be read (the others are still described);
2 the model is not on this machine (the text found by OCR is still printed).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16", "int8")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "describe",
        help="describe image files: caption, text found in them, kind of image",
        description="Describe image files on this computer: what they show (guessed by a local model), "
        "the text in them (read by OCR), and what kind of image each is.",
        epilog="Exit codes: 0 all described; 1 a file could not be read (the others are still described); "
        "2 the model is not downloaded (the text found is still printed).",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files to describe")
    parser.add_argument("--json", action="store_true", help="print one JSON object per line per image")
    parser.add_argument("--detail", action="store_true",
                        help="the detailed description (uses the detail model unless --model is given)")
    parser.add_argument("--model", metavar="ID_OR_PATH",
                        help="captioner: a catalog name, a Hugging Face id, a local folder or a checkpoint")
    parser.add_argument("--precision", choices=PRECISION_CHOICES, default="auto",
                        help="model precision (default auto: bf16 only where the CPU has it natively; "
                        "int8 changes outputs)")
    parser.add_argument("--no-ocr", action="store_true", help="do not read the text in the images")
    parser.add_argument("--speak", action="store_true", help="speak each description aloud")
    parser.add_argument("--save-audio", metavar="OUT.wav", help="write the spoken description(s) to a WAV file")
    add_speech_arguments = _speech_function("add_speech_arguments")
    if add_speech_arguments is not None:
        add_speech_arguments(parser)
    parser.set_defaults(func=run)


def _speech_function(name: str) -> Any:
    """A function from engine.speech if that part of the engine provides it (it is optional here)."""
    try:
        import engine.speech as speech
    except ImportError as exc:
        log.debug("engine.speech unavailable: %r", exc)
        return None
    return getattr(speech, name, None)


def run(args: argparse.Namespace) -> int:
    from engine.catalog import DEFAULT_DETAIL_MODEL, DEFAULT_MODEL
    from engine.describer import Describer
    from engine.errors import ImageLoadError, UserFacingError
    from engine.images import load_image

    spec = args.model or (DEFAULT_DETAIL_MODEL if args.detail else DEFAULT_MODEL)
    captioner, caption_error, model_exit = _load_captioner(spec, args.precision, ocr=not args.no_ocr)
    describer = Describer(captioner, caption_error=caption_error, use_ocr=not args.no_ocr)

    exit_code = model_exit
    spoken: list[tuple[str, str]] = []
    for path in args.paths:
        try:
            image = load_image(path)
        except ImageLoadError as exc:
            print(str(exc), file=sys.stderr)
            if args.json:
                _print_json({"path": path, "error": str(exc)})
            exit_code = max(exit_code, 1)
            continue
        try:
            description = describer.describe(image, detail=args.detail, source=path)
        except UserFacingError as exc:  # e.g. OCR could not run: say so, go on with the next file
            print(f"{path}: {exc}", file=sys.stderr)
            if args.json:
                _print_json({"path": path, "error": str(exc)})
            exit_code = max(exit_code, 1)
            continue
        if args.json:
            _print_json(_json_record(path, description))
        else:
            print(_plain_text(path, description), flush=True)
        spoken.append((path, description.to_speech()))

    if (args.speak or args.save_audio) and spoken:
        exit_code = max(exit_code, _speak(args, spoken))
    return exit_code


def _load_captioner(spec: str, precision: str, *, ocr: bool) -> tuple[Any, str | None, int]:
    """(captioner or None, why there is none, exit code). The full message is printed once, on stderr;
    each description carries a short one."""
    from engine.captioners import load_captioner
    from engine.errors import ModelNotAvailable, UserFacingError

    consequence = "only the text was read" if ocr else "there is no description"
    started = time.perf_counter()
    try:
        captioner = load_captioner(spec, precision=precision, local_files_only=True)
    except ModelNotAvailable as exc:
        print(str(exc), file=sys.stderr)
        return None, f"The model is not downloaded, so {consequence}.", exc.exit_code
    except UserFacingError as exc:  # ModelLoadError: files present but unusable
        print(str(exc), file=sys.stderr)
        return None, f"The model could not be loaded, so {consequence}.", exc.exit_code
    except Exception as exc:  # noqa: BLE001 - a broken backend must not cost the user the text
        log.debug("loading %s failed", spec, exc_info=True)
        print(f"The model {spec!r} could not be loaded ({type(exc).__name__}: {exc}).", file=sys.stderr)
        return None, f"The model could not be loaded, so {consequence}.", 1
    log.info("loaded %s in %.0f ms", spec, (time.perf_counter() - started) * 1000)
    return captioner, None, 0


def _json_record(path: str, description: Any) -> dict[str, Any]:
    data = description.to_dict()
    keys = ("kind", "caption", "detailed_caption", "objects", "text", "text_lines", "model_id",
            "timings_ms", "speech", "blank_reason", "caption_error", "ocr_error", "width", "height")
    record = {"path": path}
    record.update({k: data.get(k) for k in keys})
    record["error"] = None
    return record


def _print_json(record: dict[str, Any]) -> None:
    if "kind" not in record:  # a file that could not be read: same keys, all empty
        record = {"path": record["path"], "kind": None, "caption": None, "detailed_caption": None,
                  "objects": [], "text": "", "text_lines": [], "model_id": None, "timings_ms": {},
                  "speech": None, "blank_reason": None, "caption_error": None, "ocr_error": None,
                  "width": 0, "height": 0, "error": record["error"]}
    print(json.dumps(record, ensure_ascii=False), flush=True)


def _plain_text(path: str, description: Any) -> str:
    """The path, the kind, then the spoken parts; read text one line per line."""
    from engine.description import speech_parts

    lines = [f"{path}: {description.kind.value}"]
    for label, sentence in speech_parts(description):
        if label == "kind":
            continue  # already on the first line
        if label == "text":
            lines.append("  Text:")
            lines.extend(f"    {line.text}" for line in description.text_lines)
        else:
            lines.append(f"  {sentence}")
    return "\n".join(lines)


def _speak(args: argparse.Namespace, spoken: list[tuple[str, str]]) -> int:
    """Speak and/or save the descriptions (after they are printed). Returns an exit code: 1 when the
    voice could not speak or save, with the reason (e.g. the package to install) on stderr."""
    from engine.errors import UserFacingError

    create_speaker = _speech_function("create_speaker")
    if create_speaker is None:
        print("Speech is not available in this installation.", file=sys.stderr)
        return 1
    settings_from_args = _speech_function("settings_from_args")
    settings = settings_from_args(args) if settings_from_args is not None else None
    problems: list[str] = []

    def report(message: str) -> None:  # called from the speaker's callback thread
        problems.append(message)
        print(message, file=sys.stderr, flush=True)

    # With several images, say which file each description is about (its name: a full path is noise).
    texts = [f"{Path(path).name}: {text}" if len(spoken) > 1 else text for path, text in spoken]
    try:
        speaker = create_speaker(settings, on_error=report)
    except UserFacingError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    try:
        if args.save_audio:
            saved = speaker.save_wav(" ".join(texts), args.save_audio)
            if not args.json:
                print(f"Saved the spoken description to {saved}")
        if args.speak:
            for text in texts:
                speaker.say(text, interrupt=False)
            speaker.wait_until_idle()
    except UserFacingError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"Could not write the audio file {args.save_audio}: {exc.strerror or exc}.", file=sys.stderr)
        return 1
    finally:
        speaker.close()
    return 1 if problems else 0
