"""`describe-aloud voices` lists the installed voices and sets + remembers the speech options;
`describe-aloud say TEXT` speaks a text (or writes it to a WAV file).

    voices                              id, name and languages of every installed voice
    voices --json                       one JSON array
    voices --voice en-us --rate 200     remember voice and rate for the app and every command
    say "Hello there"                   speak with the remembered voice
    say "Hello" --save-audio out.wav    write a WAV file instead

Exit codes: 0 done; 1 speech is unavailable (the message says what to install); 2 unknown voice.
"""
from __future__ import annotations

import argparse
import json
import sys

from describe_aloud.cli.common import add_overwrite_argument
from describe_aloud.engine.i18n import _
from describe_aloud.engine.speech import add_speech_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    voices = subparsers.add_parser(
        "voices",
        help=_("List the installed voices; set and remember the voice, rate, volume and speech output."),
        description=_("List the voices installed on this computer. Speech options given here are saved and "
                      "used by the app and every command from now on."),
    )
    voices.add_argument("--json", action="store_true", help=_("Print the voices as a JSON array."))
    voices.add_argument("--language", metavar="CODE", help=_("Only list voices for this language, e.g. en."))
    add_speech_arguments(voices)
    voices.set_defaults(func=run)

    say = subparsers.add_parser(
        "say", help=_("Speak a text with the remembered voice, or save it as a WAV file."),
        description=_("Speak a text with the app's voice, or the screen reader when chosen."),
    )
    say.add_argument("text", nargs="+", help=_("The text to speak."))
    say.add_argument("--save-audio", metavar="OUT.wav", help=_("Write the speech to a WAV file instead."))
    add_overwrite_argument(say)
    add_speech_arguments(say)
    say.set_defaults(func=run_say)


def _matches_language(voice, language: str) -> bool:
    wanted = language.lower()
    return any(lang.lower() == wanted or lang.lower().startswith(wanted + "-") for lang in voice.languages)


def run(args: argparse.Namespace) -> int:
    from describe_aloud.engine.speech import create_speaker, settings_from_args

    errors: list[str] = []
    settings = settings_from_args(args, save=False)  # remembered below, once the voice is known to exist
    speaker = create_speaker(settings, on_error=errors.append)
    try:
        voices = speaker.voices()
        if not voices:
            if not args.voice:  # a voice cannot be checked without voices; the other options are kept
                settings_from_args(args)
            speaker.wait_until_idle(0.2)
            print(speaker.unavailable_reason or _("No voices were found."), file=sys.stderr)
            return 1
        if args.language:
            voices = [v for v in voices if _matches_language(v, args.language)]
        if args.json:
            print(json.dumps([{"id": v.id, "name": v.name, "languages": v.languages} for v in voices], indent=2))
        else:
            width = max((len(v.id) for v in voices), default=2)
            for v in voices:
                print(f"{v.id:<{width}}  {v.name}  ({', '.join(v.languages) or '?'})")
        if args.voice and not _voice_known(args.voice, speaker.voices()):
            print(_("The voice {voice!r} is not installed, so nothing was saved. Choose one of the voices "
                    "listed.").format(voice=args.voice), file=sys.stderr)
            return 2
        settings = settings_from_args(args)  # the options given are remembered now
        if settings.voice and not _voice_known(settings.voice, speaker.voices()):
            print(_("Note: the voice {voice!r} is not installed; the default voice is used.").format(voice=settings.voice),
                  file=sys.stderr)
            return 2
        if any(option is not None for option in (args.voice, args.rate, args.volume, args.speech_output)):
            print(_("Saved: voice {value}, rate {rate} words per minute, volume {volume:g}, output {replace}.").format(value=settings.voice or 'default', rate=settings.rate, volume=settings.volume, replace=settings.speech_output.replace('_', ' ')),
                  file=sys.stderr)
        return 0
    finally:
        speaker.close()


def _voice_known(wanted: str, voices) -> bool:
    wanted = wanted.lower()
    return any(
        wanted in (v.id.lower(), v.id.lower().rsplit("/", 1)[-1], v.name.lower(), *(l.lower() for l in v.languages[:1]))
        for v in voices
    )


def run_say(args: argparse.Namespace) -> int:
    from describe_aloud.engine.errors import UserFacingError
    from describe_aloud.engine.invocation import user_command
    from describe_aloud.engine.speech import create_speaker, settings_from_args

    settings = settings_from_args(args)
    text = " ".join(" ".join(args.text).split())
    if not text:
        print(_("There is nothing to say: give the text to speak, e.g. {command}").format(
            command=user_command("say", '"Hello"')), file=sys.stderr)
        return 1
    messages: list[str] = []
    speaker = create_speaker(settings, on_error=messages.append)
    code = 0
    try:
        if args.save_audio:
            try:
                print(speaker.save_wav(text, args.save_audio))
            except UserFacingError as exc:
                messages.append(str(exc))
                code = 1
        else:
            speaker.say(text, interrupt=settings.interrupt)
            speaker.wait_until_idle()
            code = 1 if speaker.unavailable_reason else 0
    except KeyboardInterrupt:
        speaker.stop()
        code = 130
    finally:
        speaker.close()  # also delivers the last callbacks
    for message in dict.fromkeys(messages):  # each once, in order
        print(message, file=sys.stderr)
    return code
