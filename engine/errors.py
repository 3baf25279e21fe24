"""Errors that carry a message meant for the user (printed on the command line, spoken in the app)."""
from __future__ import annotations


class UserFacingError(Exception):
    """An error whose str() is a complete, plain-language sentence for the user."""

    exit_code = 1


class ImageLoadError(UserFacingError):
    """The file could not be read as an image (missing, empty, not an image, truncated, too large...)."""


class ModelNotAvailable(UserFacingError):
    """The model's weights are not on this machine (and we may not download them now)."""

    exit_code = 2

    def __init__(self, model: str, message: str | None = None) -> None:
        self.model = model
        super().__init__(
            message
            or f"The model {model!r} is not downloaded yet. Download it once with: "
            f"python main.py models download {model}"
        )


class ModelLoadError(UserFacingError):
    """The model files are present but could not be loaded."""
