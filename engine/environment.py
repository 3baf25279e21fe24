"""Every DESCRIBE_ALOUD_* environment variable the app reads, in one place, each with what it does.
docs/configuration.md lists them (a test keeps the two in step). Read at call time, never cached, so a
test or a portable setup can change them between calls."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Knob:
    name: str
    meaning: str

    def get(self) -> str | None:
        """The value, stripped; None when unset or empty."""
        value = os.environ.get(self.name, "").strip()
        return value or None


CONFIG_DIR = Knob("DESCRIBE_ALOUD_CONFIG_DIR",
                  "Folder for settings.json (and, hashed, the single-instance name): a separate instance.")
DATA_DIR = Knob("DESCRIBE_ALOUD_DATA_DIR", "Folder for the history database and other data the app keeps.")
NO_BF16 = Knob("DESCRIBE_ALOUD_NO_BF16", "1: never choose bf16 for precision 'auto' on a CPU (use fp32).")
SCREEN_READER = Knob("DESCRIBE_ALOUD_SCREEN_READER",
                     "none | prismatoid | nvda | speech-dispatcher: use only that screen-reader output "
                     "(none: behave as if no screen reader runs). In the app, any other value (e.g. orca) "
                     "counts as a running screen reader for the automatic speech output.")
AUDIO_PLAYER = Knob("DESCRIBE_ALOUD_AUDIO_PLAYER",
                    "null | pw-play | paplay | aplay | ffplay | afplay | winsound: play the own voice and "
                    "earcons with that player only (null: silent).")
AUDIO_SINK = Knob("DESCRIBE_ALOUD_AUDIO_SINK",
                  "A folder: play nothing, copy every WAV that would be played into it (0001.wav, ...) with "
                  "its text (tests listen this way).")
TTS_DRIVER = Knob("DESCRIBE_ALOUD_TTS_DRIVER", "The pyttsx3 driver of the own voice (e.g. espeak, dummy).")

OCR_ENGINE = Knob("DESCRIBE_ALOUD_OCR_ENGINE",
                  "openvino | onnxruntime: run OCR on that engine (default: OpenVINO when installed).")
OCR_CACHE = Knob("DESCRIBE_ALOUD_OCR_CACHE",
                  "0: OpenVINO compiles the OCR models at every start instead of keeping them compiled in "
                  "the cache folder (default on; benches compare); an absolute folder: keep them there.")
PACKED_LINEAR = Knob("DESCRIBE_ALOUD_PACKED_LINEAR",
                     "1 | 0: captioners on a CPU (bf16; fp32 too for the lean GIT) do / do not pack their Linear "
                     "weights for oneDNN "
                     "(default: whatever the start-up measurement found faster on this CPU).")

LEAN_GIT = Knob("DESCRIBE_ALOUD_LEAN_GIT",
                 "0: load GIT captioners (the default one) with transformers instead of the app's own lean "
                 "GIT code (default on; benches compare).")

MEMORY_TRIM = Knob("DESCRIBE_ALOUD_MEMORY_TRIM",
                   "0: do not hand freed memory back to the system after a model load and between requests "
                   "(Linux; default on; benches compare).")

KNOBS = (CONFIG_DIR, DATA_DIR, NO_BF16, SCREEN_READER, AUDIO_PLAYER, AUDIO_SINK, TTS_DRIVER, OCR_ENGINE,
         OCR_CACHE, PACKED_LINEAR, LEAN_GIT, MEMORY_TRIM)
