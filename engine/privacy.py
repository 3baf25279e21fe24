"""Nothing leaves the machine: switch off what third-party libraries would send on their own.

onnxruntime (under rapidocr) ships with a telemetry client on Linux and macOS since 1.2x: when its
environment is created it writes a persistent device id under the user's cache folder
(`~/.cache/Microsoft/DeveloperTools/.onnxruntime/deviceid`) and sends "ProcessInfo" and session events to a
Microsoft host from a C++ thread (DNS lookups retried after about 5, 13 and 35 s). Python-level socket
patches never see it. `ORT_DISABLE_TELEMETRY=1` in the environment *before* onnxruntime creates its
environment is its documented full opt-out (no uploader, no events, no device id); the setting is latched
for the life of the process, so it must be set before the first session. `disable_telemetry_events()`
afterwards also covers a build that reads only the runtime switch.

OpenVINO (the faster OCR engine) sends a Google Analytics event ("ov import") every time `openvino` is
imported, through openvino-telemetry, unless the user ran its opt_in_out tool: consent defaults to yes,
and the only switch it reads from the environment is CI=true. Here its consent check answers "declined"
for this process (nothing is written to the user's files), before anything imports openvino.

The Hugging Face libraries are told the same (`HF_HUB_DISABLE_TELEMETRY`); the app never downloads
anything unless the user runs `models download`.

`keep_everything_local()` is idempotent and cheap; it runs when the engine package is imported and again
right before the OCR engine is built (belt and braces: a process that imported onnxruntime some other
way first still gets the runtime switch).
"""
from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)

# Environment switches honoured by the libraries we use. Forced, not defaulted: the README promises that
# nothing is sent anywhere, whatever the user's shell happens to export.
OFFLINE_ENVIRONMENT = {
    "ORT_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
}


def keep_everything_local() -> None:
    """Set the opt-out switches; if onnxruntime is already imported, also switch off its events now."""
    for name, value in OFFLINE_ENVIRONMENT.items():
        os.environ[name] = value
    disable_openvino_telemetry()
    if "onnxruntime" in sys.modules:
        disable_onnxruntime_telemetry()


def disable_onnxruntime_telemetry() -> bool:
    """onnxruntime's runtime switch. True when it was called (False: onnxruntime missing or too old)."""
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    try:
        import onnxruntime as ort
    except ImportError:
        return False
    disable = getattr(ort, "disable_telemetry_events", None)
    if disable is None:
        return False
    try:
        disable()
    except Exception:  # noqa: BLE001 - the environment switch above is the real opt-out
        log.debug("onnxruntime.disable_telemetry_events failed", exc_info=True)
        return False
    return True


def disable_openvino_telemetry() -> bool:
    """Make openvino-telemetry's consent check say "declined" in this process. True when it was patched
    (False: openvino-telemetry is not installed, or its layout changed: the network test then fails)."""
    try:
        from openvino_telemetry.utils import opt_in_checker
    except ImportError:
        return False
    checker = getattr(opt_in_checker, "OptInChecker", None)
    result = getattr(opt_in_checker, "ConsentCheckResult", None)
    if checker is None or result is None or not hasattr(result, "DECLINED"):
        log.warning("openvino-telemetry changed; its consent check could not be switched off")
        return False
    checker.check = lambda self, *args, **kwargs: result.DECLINED
    return True
