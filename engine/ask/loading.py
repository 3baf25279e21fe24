"""Loading the question-answering model through the same model store and error sentences as the
captioners: a catalog name (`smolvlm-256m`), a Hugging Face id in the hub cache, or a `save_pretrained`
folder; never the network (`models download` fetches it once).

Slow (seconds): call from a worker thread, never the GUI thread.
"""
from __future__ import annotations

import logging
from typing import Any

from describe_aloud.engine.ask.asker import ASK_FAMILIES, Asker
from describe_aloud.engine.catalog import ASK_CAPABILITY, CATALOG, DEFAULT_ASK_MODEL, catalog_entry
from describe_aloud.engine.errors import ModelLoadError
from describe_aloud.engine.i18n import _

log = logging.getLogger(__name__)

# One 512 px tile per image (SmolVLM's own tile size): 64 image tokens for SmolVLM-256M instead of up to
# 17 tiles; a screen's small text is read by OCR and given to the model as text anyway.
PROCESSOR_OPTIONS = {"do_image_splitting": False}


def load_asker(target: str | None = None, *, precision: str = "auto", device: str = "auto",
               local_files_only: bool = True, **options: Any) -> Asker:
    """The Asker for `target` (default: the catalog's ask model). Raises ModelNotAvailable (with the
    command that downloads it) when it is not on this computer, ModelLoadError when its files are broken or
    it is not a question-answering model."""
    from describe_aloud.engine.captioners.hf_loading import hub_kwargs, load_errors, resolve_source
    from describe_aloud.engine.captioners.decode_attention import use_sdpa_decode
    from describe_aloud.engine.captioners.decode_path import pack_if_faster
    from describe_aloud.engine.device import resolve_device, resolve_precision, torch_dtype

    target = target or DEFAULT_ASK_MODEL
    entry = catalog_entry(target)
    if entry is not None and ASK_CAPABILITY not in entry.capabilities:
        # Said before looking for its files: never "download blip-base" for a model that cannot answer.
        raise ModelLoadError(_("The model {name} describes images but cannot answer questions. Ask with "
                               "{models}.").format(name=entry.name, models=_ask_models()))
    if entry is not None:  # a catalog name: the hub cache knows the model by its Hugging Face id
        target = entry.hf_id
    device = resolve_device(device)
    precision = resolve_precision(precision, device)
    if precision == "int8":
        raise ModelLoadError(_("Questions are answered in bf16 or fp32; int8 is only for describing."))
    source, where, advice = resolve_source(target, local_files_only)
    with load_errors(where, advice):
        from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor

        load_kwargs = hub_kwargs(source, local_files_only)
        config = AutoConfig.from_pretrained(source, **load_kwargs)
        if config.model_type not in ASK_FAMILIES:
            raise ModelLoadError(
                _("This model cannot answer questions: {where} holds a model of the kind {family}. Ask with "
                  "{models}.").format(where=where, family=config.model_type, models=_ask_models())
            )
        processor = AutoProcessor.from_pretrained(source, **PROCESSOR_OPTIONS, **load_kwargs)
        model = AutoModelForImageTextToText.from_pretrained(source, dtype=torch_dtype(precision), **load_kwargs)
        model.eval()
        if device != "cpu":
            model.to(device)
        use_sdpa_decode(model)  # a decoding step's attention as two products (grouped-query too)
        packed = pack_if_faster(model, device, precision)  # the captioners' per-CPU measurement, reused
    log.info("loaded ask model %s on %s in %s (%d Linear layers packed)", target, device, precision, packed)
    asker = Asker(model, processor, model_id=target, device=device, precision=precision, **options)
    asker.packed_linear_layers = packed
    if device == "cpu":
        from describe_aloud.engine.ask.speed import decode_threads

        asker.decode_threads = decode_threads(model)  # one thread when a step runs faster so on this CPU
    return asker


def _ask_models() -> str:
    """The catalog's question-answering models, the default first: "smolvlm-256m, smolvlm-500m"."""
    names = [e.name for e in CATALOG if ASK_CAPABILITY in e.capabilities]
    return ", ".join(sorted(names, key=lambda name: name != DEFAULT_ASK_MODEL))
