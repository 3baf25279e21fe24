"""Speech: the own voice (pyttsx3 / espeak-ng in a separate process) or the running screen reader.

    from describe_aloud.engine.speech import create_speaker
    speaker = create_speaker(on_error=print)
    speaker.say("Hello.")          # returns at once
    speaker.stop()                 # silent within milliseconds
    speaker.close()

See speaker.py for the threading contract, players.py for audio output and the test sink.
"""
from __future__ import annotations

from .client import SpeechUnavailable
from .options import add_speech_arguments, settings_from_args
from .protocol import SpeechOutput
from .sentences import split_sentences
from .speaker import Speaker, Voice, create_speaker

__all__ = [
    "Speaker",
    "SpeechOutput",
    "SpeechUnavailable",
    "Voice",
    "add_speech_arguments",
    "create_speaker",
    "settings_from_args",
    "split_sentences",
]
