"""Errors that carry a message meant for the user (printed on the command line, spoken in the app)."""
from __future__ import annotations

from describe_aloud.engine.i18n import _
from describe_aloud.engine.invocation import user_command
from describe_aloud.engine.text_safety import for_terminal


class UserFacingError(Exception):
    """An error whose str() is a complete, plain-language sentence for the user.

    Its sentence often carries what the user did not write: a file name from a folder or a training set, a
    reason from a library that repeats it. str() shows control characters as `\\xNN` (engine.text_safety),
    so printing or speaking any such error cannot drive the user's terminal or screen reader."""

    exit_code = 1

    def __str__(self) -> str:
        return for_terminal(super().__str__())


class ImageLoadError(UserFacingError):
    """The file could not be read as an image (missing, empty, not an image, truncated, too large...)."""


class ModelNotAvailable(UserFacingError):
    """The model's weights are not on this machine (and we may not download them now)."""

    exit_code = 2

    def __init__(self, model: str, message: str | None = None) -> None:
        self.model = model
        super().__init__(
            message
            or _("The model {model!r} is not downloaded yet. Download it once with: {command}").format(
                model=model, command=user_command("models", "download", model))
        )


class ModelLoadError(UserFacingError):
    """The model files are present but could not be loaded."""


def user_message(exc: BaseException, *, doing: str | None = None, memory: str | None = None) -> str:
    """The one funnel from an exception to the sentence the user hears and reads.

    A UserFacingError already is that sentence. Anything else is unexpected: it is wrapped with what was
    being done (`doing`: "Describing failed (git-base)", "The screen could not be captured") so the user
    knows which step failed, and the exception's own words follow for a bug report. `memory`: the sentence
    for running out of memory, where the caller can say what could not be done."""
    if isinstance(exc, UserFacingError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return memory or _("There is not enough memory to do this.")
    detail = str(exc).strip() or type(exc).__name__
    if doing:
        return _("{doing}: {detail}").format(doing=doing, detail=detail)
    return _("Something went wrong: {detail}").format(detail=detail)
