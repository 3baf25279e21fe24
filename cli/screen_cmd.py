"""`describe-aloud describe-screen` and friends: describe what is on the screen.

    describe-screen            the monitor under the mouse pointer
    describe-window            the active window
    describe-region            a region around the mouse pointer (--region-size 800x600)
    describe-all-monitors      every monitor at once
    describe-clipboard         the image on the clipboard
    stop-speech                silence the app

When the app is running, each command only tells it what to do (over the single-instance socket) and
returns at once: the app captures (hiding its own window), describes, speaks and keeps it in the history.
Bind these commands to keys in the desktop's shortcut settings where global hotkeys do not work (Wayland).
With no app running (or with --standalone), the command does the work itself: capture, describe, print,
and speak with --speak.

Exit codes: 0 done (or delivered to the app); 1 nothing could be captured, the capture was black (no
permission) or speech failed; 2 the model is not downloaded (the text found by OCR is still printed).
"""
from __future__ import annotations

import argparse
import logging
import sys

from describe_aloud.cli.common import (
    add_description_arguments,
    add_model_arguments,
    add_speaking_arguments,
    chosen_model,
    load_translator_or_say,
)
from describe_aloud.engine import render
from describe_aloud.engine.i18n import N_, _
from describe_aloud.engine.output_paths import write_whole

log = logging.getLogger(__name__)

# command -> (app command, capture target or None, help: one sentence, translated where it is shown)
SCREEN_COMMANDS: dict[str, tuple[str, str | None, str]] = {
    "describe-screen": ("describe_screen", "monitor_under_pointer",
                        N_("Describe the monitor under the mouse pointer.")),
    "describe-window": ("describe_window", "active_window", N_("Describe the active window.")),
    "describe-region": ("describe_region", "region_around_pointer",
                        N_("Describe a region around the mouse pointer.")),
    "describe-all-monitors": ("describe_all_monitors", "all_monitors", N_("Describe all monitors at once.")),
    "describe-clipboard": ("describe_clipboard", None, N_("Describe the image on the clipboard.")),
    "stop-speech": ("stop_speech", None, N_("Stop the app's speech.")),
    "more-detail": ("more_detail", None, N_("Ask the running app for more detail about its last description.")),
}
# Commands that only mean something to a running app (no capture, no options).
APP_ONLY = {
    "stop-speech": N_("Describe Aloud is not running, so there is nothing to stop."),
    "more-detail": N_("Describe Aloud is not running, so there is no description to add detail to. For a "
                      "detailed description now, use {screen} (or {file})."),
}
SOURCE_LABELS = {
    "monitor_under_pointer": N_("screen"),
    "active_window": N_("active window"),
    "region_around_pointer": N_("screen region"),
    "all_monitors": N_("all monitors"),
}
DEFAULT_REGION_SIZE = (800, 600)


def _region_size(value: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(_("region size must look like 800x600, not {value!r}").format(value=value)) from None
    if width < 16 or height < 16:
        raise argparse.ArgumentTypeError(_("region size must be at least 16x16"))
    return (width, height)


def register(subparsers: argparse._SubParsersAction) -> None:
    for name, (_app_command, target, help_text) in SCREEN_COMMANDS.items():
        if name in APP_ONLY:
            description = _("{action} Only the running app can do this.").format(action=_(help_text))
            epilog = None
        else:
            description = _("{action} If the app is running, it does it (and speaks); otherwise this command "
                            "does it itself and prints the description.").format(action=_(help_text))
            epilog = _("Exit codes: 0 done or delivered to the app; 1 nothing captured, a black capture "
                       "(no permission) or speech failed; 2 the model is not downloaded.")
        parser = subparsers.add_parser(name, help=_(help_text), description=description, epilog=epilog)
        parser.add_argument("--standalone", action="store_true",
                            help=_("Do not ask the running app; do the work in this process."))
        parser.add_argument("--timeout", type=float, default=1.5, metavar="SECONDS",
                            help=_("How long to wait for the running app to answer, in seconds (default 1.5)."))
        if name not in APP_ONLY:
            parser.add_argument("--json", action="store_true",
                                help=_("Print the description as one JSON object."))
            add_description_arguments(parser)
            add_model_arguments(parser, model_help=N_(
                "The captioner when the command works standalone: a catalog name, a Hugging Face id, a "
                "model folder or a checkpoint made by the train command."))
            add_speaking_arguments(parser)
            parser.add_argument("--save-image", metavar="OUT.png", help=_("Also save the captured image."))
            if target == "region_around_pointer":
                parser.add_argument("--region-size", type=_region_size, default=DEFAULT_REGION_SIZE,
                                    metavar="WxH",
                                    help=_("The size of the region around the pointer (default 800x600)."))
        # The same attributes whatever the command, so run() reads them without asking whether they exist.
        parser.set_defaults(func=run, screen_command=name, json=False, region_size=DEFAULT_REGION_SIZE)


def fast_path(argv: list[str]) -> int | None:
    """`describe-aloud describe-screen` (no options) with the app running: deliver it before main() imports the
    other commands (about 0.3 s of imports), so a desktop shortcut is heard sooner. None: take the
    normal path (options given, or no app answered; then the command works standalone)."""
    if len(argv) != 1 or argv[0] not in SCREEN_COMMANDS:
        return None
    if not _deliver(SCREEN_COMMANDS[argv[0]][0], 1.5):
        return None
    print(_("Sent to the running Describe Aloud app."))
    return 0


def run(args: argparse.Namespace) -> int:
    name = args.screen_command
    app_command, target, _help = SCREEN_COMMANDS[name]
    own_options = [] if name in APP_ONLY else options_for_this_process(args)
    if not args.standalone and not own_options and _deliver(app_command, args.timeout):
        print(_("Sent to the running Describe Aloud app."))
        return 0
    if own_options and not args.standalone and _deliver("ping", args.timeout):
        # The running app takes a bare command over its socket: the work is done here, as asked, and said
        # so (a second model in memory for a moment is better than an option silently dropped).
        print(_("The running Describe Aloud app cannot take {options}, so this command does the work "
                "itself.").format(options=", ".join(own_options)), file=sys.stderr)
    if name == "stop-speech":
        print(_(APP_ONLY[name]))
        return 0
    if name in APP_ONLY:
        from describe_aloud.engine.invocation import user_command

        print(_(APP_ONLY[name]).format(screen=user_command("describe-screen", "--detail"),
                                       file=user_command("describe", "--detail", "FILE")), file=sys.stderr)
        return 1
    if target is None:
        image, source, hint = _clipboard_image()
        if image is None:
            return _fail(args, hint)
    else:
        result = _capture(target, args)
        if isinstance(result, str):
            return _fail(args, result)
        image, source, hint = result
        if hint:
            return _fail(args, hint)
    if args.save_image:
        try:
            write_whole(args.save_image, image.save)  # a full disk leaves no half image, nor half the one replaced
        except (OSError, ValueError) as exc:
            print(_("Could not save the image to {save_image}: {reason}.").format(save_image=args.save_image, reason=exc), file=sys.stderr)
    return _describe(args, image, source)


# Options that change what is done or where it goes; the running app takes a bare command over its socket,
# so any of them means the command works on its own. (attribute, spelling, default: the value when not given)
_OWN_OPTIONS = (
    ("json", "--json", False), ("save_image", "--save-image", None), ("save_audio", "--save-audio", None),
    ("detail", "--detail", False), ("no_ocr", "--no-ocr", False), ("translate_text", "--translate-text", False),
    ("model", "--model", None), ("precision", "--precision", "auto"),
    ("region_size", "--region-size", DEFAULT_REGION_SIZE),
    ("voice", "--voice", None), ("rate", "--rate", None), ("volume", "--volume", None),
    ("queue", "--queue", False), ("speech_output", "--speech-output", None),
)


def options_for_this_process(args: argparse.Namespace) -> list[str]:
    """The options given that only this process can honour (see _OWN_OPTIONS), as typed."""
    return [flag for attribute, flag, unset in _OWN_OPTIONS if getattr(args, attribute, unset) != unset]


def _deliver(app_command: str, timeout: float) -> bool:
    from describe_aloud.engine.ipc import send_command

    return send_command(app_command, timeout_ms=int(max(timeout, 0.05) * 1000))


def _capture(target: str, args: argparse.Namespace):
    """(image, source label, near-black hint or None), or an error sentence."""
    from describe_aloud.engine.capture import CaptureError, capture, permission_hint

    try:
        result = capture(target, region_size=args.region_size)
    except CaptureError as exc:
        return str(exc)
    if result.note:
        print(result.note, file=sys.stderr)
    source = _(SOURCE_LABELS.get(result.source, result.source))
    log.info("captured %s %s in %.0f ms", result.source, result.box, result.elapsed_ms)
    if result.near_black:
        return result.image, source, _("The capture is completely black. {hint}").format(hint=permission_hint())
    return result.image, source, None


def _clipboard_image():
    """(image, "clipboard", None) or (None, None, sentence)."""
    try:
        from PIL import ImageGrab

        content = ImageGrab.grabclipboard()
    except Exception as exc:  # noqa: BLE001 - Pillow raises assorted errors when a clipboard tool is missing
        # Pillow's own text names its function ("ImageGrab.grabclipboard() requires..."): the log keeps it,
        # the user gets what to do.
        log.info("the clipboard could not be read: %s", exc)
        from describe_aloud.engine.invocation import user_command

        if sys.platform.startswith("linux"):
            return None, None, _("The clipboard could not be read. Install wl-clipboard (Wayland) or xclip (X11), "
                                 "or run {command} without options while the app is running: the app reads the "
                                 "clipboard itself.").format(command=user_command("describe-clipboard"))
        return None, None, _("The clipboard could not be read ({reason}).").format(reason=exc)
    if content is None:
        return None, None, _("There is no image on the clipboard.")
    if isinstance(content, list):  # file names (Windows / macOS): describe the first image file
        from describe_aloud.engine.errors import ImageLoadError
        from describe_aloud.engine.images import load_image

        for path in content:
            try:
                return load_image(path), "clipboard", None
            except ImageLoadError:
                continue
        return None, None, _("The clipboard holds files, but none of them is an image.")
    from describe_aloud.engine.images import to_rgb

    return to_rgb(content), "clipboard", None


def _fail(args: argparse.Namespace, message: str) -> int:
    print(message, file=sys.stderr)
    if args.json:
        import json

        print(json.dumps({"source": None, "error": message}, ensure_ascii=False), flush=True)
    if args.speak:
        _speak_text(args, message)
    return 1


def _speak_text(args: argparse.Namespace, text: str) -> None:
    from describe_aloud.cli.describe_cmd import speak_texts

    saved = args.save_audio
    args.save_audio = None  # an error message is spoken, never written over the user's WAV
    try:
        speak_texts(args, [text])
    finally:
        args.save_audio = saved


def _describe(args: argparse.Namespace, image, source: str) -> int:
    from describe_aloud.cli.describe_cmd import _json_record, _load_captioner, _plain_text, _print_json, speak_texts
    from describe_aloud.engine.describer import Describer
    from describe_aloud.engine.errors import UserFacingError

    captioner, caption_error, exit_code = _load_captioner(chosen_model(args), args.precision, ocr=not args.no_ocr)
    describer = Describer(captioner, caption_error=caption_error, use_ocr=not args.no_ocr,
                          translator=load_translator_or_say(args) if captioner is not None else None,
                          translate_text=args.translate_text)
    try:
        description = describer.describe(image, detail=args.detail, source=source,
                                          kind_hint=None if source == "clipboard" else "screen")
    except UserFacingError as exc:
        return _fail(args, str(exc))
    _remember(description, image, source)
    if args.json:
        _print_json(_json_record(source, description))
    else:
        print(_plain_text(source, description), flush=True)
    if args.speak or args.save_audio:
        exit_code = max(exit_code, speak_texts(args, [render.describe(description).speech]))
    return exit_code


def _remember(description, image, source: str) -> None:
    """Keep the description in the history, as the app would (a failure here loses nothing else)."""
    try:
        from describe_aloud.engine.history import HistoryStore

        store = HistoryStore()
        try:
            store.add(description, source=source, image=image)
        finally:
            store.close()
    except Exception as exc:  # noqa: BLE001 - the description was printed; the history is a bonus
        log.warning("could not add the description to the history: %s", exc)
