"""The models the app knows by name. Sizes are the weights on disk as published (fp32 safetensors)."""
from __future__ import annotations

from dataclasses import dataclass
from describe_aloud.engine.i18n import N_


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    hf_id: str
    family: str  # adapter name in engine.captioners.hf (git, florence2, blip, vision-encoder-decoder); marian
    params_m: int
    size_mb: int
    license: str
    capabilities: frozenset[str]
    note: str = ""


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        "git-base", "microsoft/git-base-coco", "git", 177, 707, "MIT",
        frozenset({"caption"}), N_("fast default; COCO CIDEr 131.4"),
    ),
    CatalogEntry(
        "florence-2-base", "florence-community/Florence-2-base-ft", "florence2", 231, 929, "MIT",
        frozenset({"caption", "detailed", "objects", "ocr"}), N_("detailed captions and objects with boxes"),
    ),
    CatalogEntry(
        "blip-base", "Salesforce/blip-image-captioning-base", "blip", 247, 990, "BSD-3-Clause",
        frozenset({"caption"}), "alternate",
    ),
    CatalogEntry(
        "blip-large", "Salesforce/blip-image-captioning-large", "blip", 470, 1880, "BSD-3-Clause",
        frozenset({"caption"}), N_("alternate, slower, more accurate"),
    ),
    CatalogEntry(
        "distilvit", "Mozilla/distilvit", "vision-encoder-decoder", 182, 730, "Apache-2.0",
        frozenset({"caption"}), N_("alternate; Firefox's alt-text model"),
    ),
    # Translation models (engine.translation): English captions into the user's language, on this computer.
    # Sizes and licences from each model card (pytorch_model.bin as published).
    CatalogEntry(
        "opus-mt-en-zh", "Helsinki-NLP/opus-mt-en-zh", "marian", 78, 312, "Apache-2.0",
        frozenset({"translate"}), N_("translates descriptions into Chinese"),
    ),
    CatalogEntry(
        "opus-mt-en-de", "Helsinki-NLP/opus-mt-en-de", "marian", 74, 298, "CC-BY-4.0",
        frozenset({"translate"}), N_("translates descriptions into German"),
    ),
    CatalogEntry(
        "opus-mt-en-es", "Helsinki-NLP/opus-mt-en-es", "marian", 78, 312, "Apache-2.0",
        frozenset({"translate"}), N_("translates descriptions into Spanish"),
    ),
    # Answer questions about an image (engine.ask); published in bf16, so the size is the bf16 weights.
    CatalogEntry(
        "smolvlm-256m", "HuggingFaceTB/SmolVLM-256M-Instruct", "idefics3", 256, 513, "Apache-2.0",
        frozenset({"ask"}), "answers questions about an image (Ctrl+K); the default for asking",
    ),
    CatalogEntry(
        "smolvlm-500m", "HuggingFaceTB/SmolVLM-500M-Instruct", "idefics3", 507, 1015, "Apache-2.0",
        frozenset({"ask"}), "answers questions; larger, slower, reads text better",
    ),
)

DEFAULT_MODEL = "git-base"
DEFAULT_DETAIL_MODEL = "florence-2-base"
DEFAULT_ASK_MODEL = "smolvlm-256m"
ASK_CAPABILITY = "ask"


# The captioners only (what the Settings' model lists offer): not the translation or question-answering models.
CAPTIONERS: tuple[CatalogEntry, ...] = tuple(
    e for e in CATALOG if "translate" not in e.capabilities and ASK_CAPABILITY not in e.capabilities
)


def captioners() -> tuple[CatalogEntry, ...]:
    """The catalog models that describe images (see CAPTIONERS)."""
    return CAPTIONERS


def catalog_entry(name_or_id: str) -> CatalogEntry | None:
    """The entry for a catalog name or a Hugging Face id, or None."""
    for entry in CATALOG:
        if name_or_id in (entry.name, entry.hf_id):
            return entry
    return None
