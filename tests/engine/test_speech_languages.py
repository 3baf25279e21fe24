"""Each language in its own voice: a Chinese line on screen is spoken by a Mandarin voice, the English
around it by the user's voice (real espeak-ng in the real voice process; audio captured by the test sink)."""
from __future__ import annotations

from describe_aloud.engine.config import Settings


def _pcm(path) -> bytes:
    return path.read_bytes()[44:]  # the samples, not the header (its sizes are all that differ)


def _close(a: int, b: int, tolerance: float = 0.08) -> bool:
    return abs(a - b) <= tolerance * max(a, b)


def test_a_chinese_line_is_spoken_by_a_mandarin_voice_and_english_by_the_users(speaker_factory, audio_sink, tmp_path):
    speaker, events = speaker_factory(Settings(voice="en-us"))
    speaker.say("Screen with text. Text: 打开文件. Open file.")
    assert speaker.wait_until_idle(30)
    assert audio_sink.texts() == ["Screen with text.", "Text:", "打开文件.", "Open file."]
    played = audio_sink.wavs()
    # The same run said by the Mandarin voice, and by the English one, written on their own.
    speaker.set_voice("cmn")
    mandarin = _pcm(speaker.save_wav("打开文件.", tmp_path / "cmn.wav"))
    speaker.set_voice("en-us")
    english = _pcm(speaker.save_wav("打开文件.", tmp_path / "en.wav"))
    # espeak-ng's audio varies by a few samples from run to run; the voices differ by half the length.
    assert _close(len(_pcm(played[2])), len(mandarin)) and not _close(len(_pcm(played[2])), len(english))
    assert _close(len(_pcm(played[3])), len(_pcm(speaker.save_wav("Open file.", tmp_path / "open.wav"))))
    assert events.of("error") == []


class _SpeechdClient:
    """Records what speech-dispatcher's Python client is asked (the daemon itself is not on the test
    machine); the splitting and language switching under test are ours."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def cancel(self) -> None:
        self.calls.append(("cancel",))

    def speak(self, text: str) -> None:
        self.calls.append(("speak", text))

    def set_language(self, language: str) -> None:
        self.calls.append(("language", language))


def test_the_screen_reader_gets_the_language_of_each_run_where_its_api_allows():
    from describe_aloud.engine.speech.screen_reader import SpeechdScreenReader

    client = _SpeechdClient()
    reader = SpeechdScreenReader(client, language="en")
    reader.speak("Text: 打开文件. Open file.", interrupt=True)
    assert client.calls == [("cancel",), ("language", "en"), ("speak", "Text:"), ("language", "zh"),
                            ("speak", "打开文件."), ("language", "en"), ("speak", "Open file."), ("language", "en")]
    client.calls.clear()
    reader.speak("Texte : Ouvrir le fichier.", interrupt=False)  # one language: handed over as it is
    assert client.calls == [("speak", "Texte : Ouvrir le fichier.")]
    client.calls.clear()
    SpeechdScreenReader(client, language="fr").speak("Fichier: Open file", interrupt=False)  # Latin stays French
    assert client.calls == [("speak", "Fichier: Open file")]
