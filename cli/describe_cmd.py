"""`describe-aloud describe PATH [PATH...]`: describe image files (caption, text read by OCR, kind).

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
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from describe_aloud.cli.common import (
    add_description_arguments,
    add_model_arguments,
    add_speaking_arguments,
    chosen_model,
    load_translator_or_say,
)
from describe_aloud.engine import render
from describe_aloud.engine.i18n import _

if TYPE_CHECKING:
    from describe_aloud.engine.captioners import Captioner
    from describe_aloud.engine.description import Description
    from describe_aloud.engine.render import Rendering
    from describe_aloud.engine.speech import SpeechOutput

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "describe",
        help=_("Describe image files: what they show, the text in them and the kind of image."),
        description=_("Describe image files on this computer: what they show (guessed by a local model), "
                      "the text in them (read by OCR), and what kind of image each is."),
        epilog=_("Exit codes: 0 all described; 1 a file could not be read (the others are still described); "
                 "2 the model is not downloaded (the text found is still printed)."),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help=_("The image files to describe."))
    parser.add_argument("--json", action="store_true", help=_("Print one JSON object per line per image."))
    add_description_arguments(parser)
    add_model_arguments(parser)
    add_speaking_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from describe_aloud.engine.describer import Describer
    from describe_aloud.engine.errors import ImageLoadError, UserFacingError
    from describe_aloud.engine.images import load_image
    from describe_aloud.engine.text_safety import escaped, printable_path

    exit_code = 0
    # The voice starts (in its own process) while the model loads.
    voice = _Voice(args, several=len(args.paths) > 1) if (args.speak or args.save_audio) else None
    spec = chosen_model(args)
    # No "Loading weights" bars: stderr is for messages a screen reader should read (read at import time).
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    captioner, caption_error, exit_code = _load_captioner(spec, args.precision, ocr=not args.no_ocr)
    if args.detail and captioner is not None and "detailed" not in captioner.capabilities:
        print(_("The model {spec} has no detailed description; its short caption is given instead.").format(spec=spec),
              file=sys.stderr)
    describer = Describer(captioner, caption_error=caption_error, use_ocr=not args.no_ocr,
                          translator=load_translator_or_say(args) if captioner is not None else None,
                          translate_text=args.translate_text)
    try:
        for path in args.paths:
            started = time.perf_counter()
            # A file name may hold bytes that are not UTF-8 or terminal escapes: printed losslessly
            # escaped (JSON stays valid UTF-8, the terminal shows \xNN instead of obeying them).
            shown, json_path = printable_path(path), escaped(path)
            try:
                image = load_image(path)
            except ImageLoadError as exc:
                _report_bad_file(json_path, str(exc), args.json)
                exit_code = max(exit_code, 1)
                continue
            load_ms = (time.perf_counter() - started) * 1000
            try:
                description = describer.describe(
                    image, detail=args.detail, source=shown,
                    on_text=voice.text_ready(shown) if voice is not None else None,
                )
            except UserFacingError as exc:
                _report_bad_file(json_path, f"{shown}: {exc}", args.json)
                exit_code = max(exit_code, 1)
                continue
            description.timings_ms["load"] = load_ms  # reading + decoding the file (not in "total")
            if args.json:
                _print_json(_json_record(json_path, description))
            else:
                print(_plain_text(shown, description), flush=True)
            if voice is not None:
                voice.described(shown, description)
    finally:
        if voice is not None:
            exit_code = max(exit_code, voice.finish())
    return exit_code


def speak_texts(args: argparse.Namespace, texts: list[str]) -> int:
    """Speak (--speak) and/or save (--save-audio) ready-made texts, as `describe` does. Returns 0 or 1."""
    voice = _Voice(args, several=False)
    for text in texts:
        voice.texts.append(text)
        voice._say(text)
    return voice.finish()


def _report_bad_file(path: str, message: str, as_json: bool) -> None:
    print(message, file=sys.stderr, flush=True)
    if as_json:
        _print_json({"path": path, "error": message})


def _load_captioner(spec: str, precision: str, *, ocr: bool) -> tuple[Captioner | None, str | None, int]:
    """(captioner or None, why there is none, exit code). The full message is printed once, on stderr;
    each description carries a short one."""
    from describe_aloud.engine.captioners import load_captioner
    from describe_aloud.engine.errors import ModelNotAvailable, UserFacingError

    # Whole sentences for each case (never "so" + a fragment): each language orders them its own way.
    not_downloaded = (_("The model is not downloaded, so only the text was read.") if ocr
                      else _("The model is not downloaded, so there is no description."))
    not_loaded = (_("The model could not be loaded, so only the text was read.") if ocr
                  else _("The model could not be loaded, so there is no description."))
    started = time.perf_counter()
    try:
        captioner = load_captioner(spec, precision=precision, local_files_only=True)
    except ModelNotAvailable as exc:
        print(str(exc), file=sys.stderr)
        return None, not_downloaded, exc.exit_code
    except UserFacingError as exc:  # ModelLoadError: files present but unusable
        print(str(exc), file=sys.stderr)
        return None, not_loaded, exc.exit_code
    except Exception as exc:  # noqa: BLE001 - a broken backend must not cost the user the text
        log.debug("loading %s failed", spec, exc_info=True)
        print(_("The model {spec!r} could not be loaded ({error}: {reason}).").format(
            spec=spec, error=type(exc).__name__, reason=exc), file=sys.stderr)
        return None, not_loaded, 1
    log.info("loaded %s in %.0f ms", spec, (time.perf_counter() - started) * 1000)
    return captioner, None, 0


def _json_record(path: str, description: Description) -> dict[str, object]:
    data = render.record(description)
    keys = ("kind", "caption", "detailed_caption", "objects", "text", "text_lines", "model_id",
            "timings_ms", "speech", "blank_reason", "caption_error", "ocr_error", "width", "height")
    record = {"path": path}
    record.update({k: data.get(k) for k in keys})
    record["error"] = None
    return record


def _print_json(record: dict[str, object]) -> None:
    if "kind" not in record:  # a file that could not be read: same keys, all empty
        record = {"path": record["path"], "kind": None, "caption": None, "detailed_caption": None,
                  "objects": [], "text": "", "text_lines": [], "model_id": None, "timings_ms": {},
                  "speech": None, "blank_reason": None, "caption_error": None, "ocr_error": None,
                  "width": 0, "height": 0, "error": record["error"]}
    print(json.dumps(record, ensure_ascii=False), flush=True)


def _plain_text(path: str, description: Description) -> str:
    """The path, the kind, then what is said, one part per line; read text one line per line."""
    lines = [f"{path}: {render.kind_name(description.kind)}"]
    for part in render.describe(description).parts:
        if part.role != "kind":  # already on the first line
            lines.extend(f"  {line}" for line in part.lines)
    return "\n".join(lines)


class _Voice:
    """--speak / --save-audio. Each description is spoken as soon as it is ready (a screen's text even
    before its caption), while the next file is being described; --save-audio writes all of them to one
    WAV at the end. Speech problems are printed on stderr and make the exit code 1."""

    def __init__(self, args: argparse.Namespace, *, several: bool) -> None:
        self.args = args
        self.several = several
        self.problems: list[str] = []
        self.texts: list[str] = []
        self._partial: dict[str, Rendering] = {}
        self.speaker: SpeechOutput | None = None
        from describe_aloud.engine.errors import UserFacingError
        from describe_aloud.engine.speech import create_speaker, settings_from_args

        try:
            self.speaker = create_speaker(settings_from_args(args), on_error=self._problem)
        except UserFacingError as exc:
            self._problem(str(exc))

    def _problem(self, message: str) -> None:  # also called from the speaker's callback thread
        self.problems.append(message)
        print(message, file=sys.stderr, flush=True)

    def _prefixed(self, path: str, text: str) -> str:
        # With several images, say which file each description is about (its name: a full path is noise).
        return f"{Path(path).name}: {text}" if self.several else text

    def _say(self, text: str) -> None:
        if self.args.speak and self.speaker is not None and text:
            self.speaker.say(text, interrupt=False)

    def text_ready(self, path: str) -> Callable[[Description], None]:
        """The Describer's on_text callback for this file: speak a screen's text before its caption."""
        def on_text(partial: Description) -> None:
            # Called twice for a dense screen (its first lines, then all its text): say only what is new.
            rendering = render.describe(partial)
            earlier = self._partial.get(path)
            self._partial[path] = rendering
            self._say(self._prefixed(path, (rendering.after(earlier) if earlier else rendering).speech))
        return on_text

    def described(self, path: str, description: Description) -> None:
        rendering = render.describe(description)
        text = self._prefixed(path, rendering.speech)
        self.texts.append(text)
        partial = self._partial.pop(path, None)
        self._say(rendering.after(partial).speech if partial is not None else text)

    def finish(self) -> int:
        """Save the audio, wait for the speech to end, close the voice. Returns 0, or 1 on a problem."""
        from describe_aloud.engine.errors import UserFacingError

        if self.speaker is None:
            return 1
        try:
            if self.args.save_audio and self.texts:
                saved = self.speaker.save_wav(" ".join(self.texts), self.args.save_audio)
                if not self.args.json:
                    print(_("Saved the spoken description to {saved}").format(saved=saved))
            if self.args.speak:
                self.speaker.wait_until_idle()
        except UserFacingError as exc:
            self._problem(str(exc))
        except OSError as exc:
            self._problem(_("Could not write the audio file {path}: {reason}.").format(
                path=self.args.save_audio, reason=exc.strerror or exc))
        finally:
            self.speaker.close()
        return 1 if self.problems else 0
