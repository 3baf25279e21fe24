"""Hotkeys that could not be set up, reported once together.

Failures come one per hotkey, usually all at once (no X server, Wayland): they are collected briefly and
reported once, instead of six long spoken errors in a row.

Threading contract: GUI thread only (HotkeyManager.registration_failed arrives there).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol
from describe_aloud.engine.i18n import _, ngettext

REPORT_DELAY_MS = 300


class ErrorReport(Protocol):
    def __call__(self, message: str, *, shown: str | None = None, interrupt: bool = True) -> None: ...


class HotkeyFailures:
    """`report(message, shown=..., interrupt=...)` tells the user (status, result view, earcon, speech);
    `defer(delay_ms, callback)` runs callback later on this thread (QTimer.singleShot in the app)."""

    def __init__(self, report: ErrorReport, defer: Callable[[int, Callable[[], None]], None]) -> None:
        self._report = report
        self._defer = defer
        self._failures: list[tuple[str, str, str]] = []
        self.closed = False  # set at shutdown: nothing is reported after it

    def add(self, action: str, combo: str, reason: str) -> None:
        self._failures.append((action, combo, reason))
        if len(self._failures) == 1:
            self._defer(REPORT_DELAY_MS, self._report_all)

    def _report_all(self) -> None:
        failures, self._failures = self._failures, []
        if not failures or self.closed:
            return
        if len(failures) == 1:
            _action, combo, reason = failures[0]
            self._report(_("The hotkey {combo} could not be set up. {reason}").format(combo=combo, reason=reason),
                         interrupt=False)
            return
        summary = ngettext("{count} global hotkey could not be set up. The reason is in the description area.",
                           "{count} global hotkeys could not be set up. The reasons are in the description area.",
                           len(failures)).format(count=len(failures))
        details = "\n".join(f"{combo}: {' '.join(reason.split())}" for _a, combo, reason in failures)
        self._report(summary, shown=f"{summary}\n\n{details}", interrupt=False)
