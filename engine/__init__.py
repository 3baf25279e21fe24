"""The engine: plain Python, no Qt. Turns an image into a Description; speech, batch, models, training."""
from describe_aloud.engine.privacy import keep_everything_local

keep_everything_local()  # before anything below can import onnxruntime or huggingface_hub: nothing is sent

from describe_aloud.engine.captioners import Captioner, CaptionResult, list_captioners, load_captioner, register_captioner
from describe_aloud.engine.catalog import CATALOG, DEFAULT_MODEL, catalog_entry
from describe_aloud.engine.description import Description, DetectedObject, ImageKind, TextLine
from describe_aloud.engine.errors import ImageLoadError, ModelLoadError, ModelNotAvailable, UserFacingError


def __getattr__(name: str):
    # The façade pulls in OCR; import it on first use so `import engine` stays light.
    if name == "Describer":
        from describe_aloud.engine.describer import Describer

        return Describer
    raise AttributeError(name)


__all__ = [
    "CATALOG",
    "DEFAULT_MODEL",
    "Captioner",
    "CaptionResult",
    "Describer",
    "Description",
    "DetectedObject",
    "ImageKind",
    "ImageLoadError",
    "ModelLoadError",
    "ModelNotAvailable",
    "TextLine",
    "UserFacingError",
    "catalog_entry",
    "list_captioners",
    "load_captioner",
    "register_captioner",
]
