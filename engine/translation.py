"""Descriptions in the user's language, offline: a small MarianMT model translates what the captioner said.

The captioners only write English. When the app speaks another language, the model's caption, its detailed
caption and the object names are translated on this computer by an OPUS-MT model (`Helsinki-NLP/opus-mt-en-*`,
native `MarianMTModel`, catalog entries in engine.catalog with family "marian"), before engine.render puts
them into the (already translated) sentence templates. So the renderer stays the one place that words a
description, and nothing English is glued into a translated sentence.

Trust rule: text read from the image (OCR) is exact and is never translated, unless the user asks for it
("Translate the text read from images" in Settings, `--translate-text`).

Speed: greedy decoding in a lean loop of our own (engine.translation_decode: the model's own modules, the KV
cache, none of generate's per-step work; the same tokens as greedy generate), in the precision and thread
count measured fastest on this CPU (engine.translation_speed: fp32, packed bf16, or int8 once it passed a
quality check against fp32). See bench/bench_translate.py and docs/benchmarks.md for the figures.

Threading: a `Translator` is owned by one thread (the worker that owns the captioner); loading takes seconds.
Torch and transformers are imported inside functions, so importing this module stays cheap.
"""
from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from describe_aloud.engine.catalog import catalog_entry
from describe_aloud.engine.description import Description, DetectedObject, TextLine
from describe_aloud.engine.errors import ModelLoadError, ModelNotAvailable
from describe_aloud.engine.i18n import _
from describe_aloud.engine.translation_decode import generate_ids

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TranslationModel:
    """Which catalog model translates English into a language, and the target token it needs, if any."""

    name: str  # catalog name (engine.catalog)
    target_token: str | None = None  # multi-target OPUS-MT models want ">>id<<" first in the source text


# Language (the first part of a locale, "zh" of "zh_CN") -> model. opus-mt-en-zh is multi-target (its model
# card lists cmn_Hans, cmn_Hant, yue...): ">>cmn_Hans<<" asks for Mandarin in simplified characters.
TRANSLATION_MODELS: dict[str, TranslationModel] = {
    "zh": TranslationModel("opus-mt-en-zh", ">>cmn_Hans<<"),
    "de": TranslationModel("opus-mt-en-de"),
    "es": TranslationModel("opus-mt-en-es"),
}



def needs_translation(language: str | None) -> bool:
    """True when descriptions must be translated for `language` (anything but English)."""
    base = (language or "en").replace("-", "_").split("_")[0].lower()
    return base not in ("", "en", "c", "posix")


def translation_model_for(language: str) -> TranslationModel | None:
    """The catalog model that translates English into `language` ("zh_CN", "de"), None when there is none."""
    return TRANSLATION_MODELS.get(language.replace("-", "_").split("_")[0].lower())


class Translator:
    """English in, the target language out. Not thread-safe (see the module docstring)."""

    def __init__(self, model: Any, tokenizer: Any, *, model_id: str, target_token: str | None = None,
                 language: str | None = None, precision: str = "fp32", threads: int | None = None) -> None:
        self.model = model
        self.precision = precision
        self.threads = threads  # torch threads while translating (None: the process's setting)
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.target_token = target_token
        self.language = language
        self._cache: dict[str, str] = {}  # object names and captions repeat ("person", "a screen")

    def __repr__(self) -> str:
        return f"Translator({self.model_id!r}, language={self.language!r}, {self.precision})"

    def translate(self, texts: Sequence[str]) -> list[str]:
        """Each text translated (one batched, greedy generate call for the ones not seen before)."""
        wanted = [t.strip() for t in texts]
        todo = list(dict.fromkeys(t for t in wanted if t and t not in self._cache))
        if todo:
            for source, target in zip(todo, self._generate(todo)):
                self._cache[source] = target
        return [self._cache.get(t, t) if t else t for t in wanted]

    def translate_one(self, text: str) -> str:
        return self.translate([text])[0]

    def warmup(self) -> None:
        """One short translation, so the first real one pays no first-call costs."""
        self._generate(["A dog on a sofa."])

    def _generate(self, texts: list[str]) -> list[str]:
        out = generate_ids(self.model, self.tokenizer, texts, self.target_token, threads=self.threads)
        return [t.strip() for t in self.tokenizer.batch_decode(out, skip_special_tokens=True)]


def load_translator(target: str, *, language: str | None = None, precision: str = "auto") -> Translator:
    """Load a translation model from a catalog name ("opus-mt-en-zh"), a Hugging Face id (from the local
    cache only: never the network) or a `save_pretrained` folder.

    precision: "auto" (the fastest on this CPU, measured once: engine.translation_speed), "fp32" (exactly the
    model's translations), "bf16" or "int8" (dynamic quantization of the Linear layers). Raises ModelNotAvailable when the model is not downloaded, ModelLoadError when its files are
    there but cannot be loaded. Slow (seconds): never on the GUI thread."""
    source, name = _resolve(target)
    try:
        from transformers import MarianMTModel, MarianTokenizer

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Recommended: pip install sacremoses" and similar
            tokenizer = MarianTokenizer.from_pretrained(source, local_files_only=True)
        model = MarianMTModel.from_pretrained(source, local_files_only=True)
        model.eval()
        generation = model.generation_config
        generation.num_beams = 1  # the published configs ask for 4 beams: 3-4x slower, barely better here
        generation.max_length = None
        token = _target_token(name, language, tokenizer)
        from describe_aloud.engine.translation_speed import prepare

        model, precision, threads = prepare(model, tokenizer, token, precision, model_key=source)
    except (ModelLoadError, ModelNotAvailable):
        raise
    except Exception as exc:  # noqa: BLE001 - damaged or foreign files: one clear sentence for the user
        log.exception("loading the translation model %s failed", target)
        raise ModelLoadError(
            _("The translation model {name} could not be loaded ({reason}).").format(
                name=name, reason=str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__)
        ) from exc
    log.info("loaded translation model %s (%s, %s threads)", target, precision, threads or "default")
    return Translator(model, tokenizer, model_id=name, target_token=token, language=language, precision=precision,
                      threads=threads)


def _target_token(name: str, language: str | None, tokenizer: Any) -> str | None:
    spec = translation_model_for(language) if language else None
    entry = catalog_entry(name)
    if spec is None and entry is not None:
        spec = next((s for s in TRANSLATION_MODELS.values() if s.name == entry.name), None)
    token = spec.target_token if spec else None
    if token is not None and token not in tokenizer.get_vocab():
        token = None  # a single-target model (or a test model) without language tokens
    return token


def load_translator_for(language: str, *, precision: str = "auto") -> Translator | None:
    """The translator into `language`, None for English. Raises ModelNotAvailable (naming the download
    command) when its model is not downloaded, ModelLoadError when the language has no translation model."""
    if not needs_translation(language):
        return None
    spec = translation_model_for(language)
    if spec is None:
        raise ModelLoadError(
            _("There is no translation model for the language {language}.")
            .format(language=language))
    return load_translator(spec.name, language=language, precision=precision)


def translator_or_reason(language: str | None, *, precision: str = "auto") -> tuple[Translator | None, str | None]:
    """(the translator into `language` or None, why descriptions stay in English or None): the app and the
    command line say the reason once and go on describing in English."""
    from describe_aloud.engine.errors import user_message

    try:
        return (load_translator_for(language, precision=precision) if language else None), None
    except Exception as exc:  # noqa: BLE001 - any failure: said once, describing goes on in English
        log.debug("translator for %s not loaded: %s", language, exc)  # the user is told once, below
        reason = user_message(exc, doing=_("Loading the translation model failed"))
        return None, _("Descriptions stay in English: {reason}").format(reason=reason)


def _resolve(target: str) -> tuple[str, str]:
    """(what to pass to from_pretrained, the name to tell the user)."""
    from describe_aloud.engine.models.store import complete_snapshot

    path = Path(target).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelLoadError(
                _("The folder {folder} is not a model folder: it has no config.json.").format(folder=str(path)))
        return str(path), str(path)
    entry = catalog_entry(target)
    hf_id = entry.hf_id if entry else target
    name = entry.name if entry else target
    snapshot = complete_snapshot(hf_id)
    if snapshot is None:
        raise ModelNotAvailable(name)
    return str(snapshot), name


# ------------------------------------------------------------------------------------ descriptions


def translate_description(d: Description, translator: Translator | None, *,
                          translate_text: bool = False) -> Description:
    """`d` with the captioner's words (caption, detailed caption, object names) in the translator's
    language; the text read from the image too only when `translate_text`. Returns `d` itself when there
    is nothing to translate. Timing goes to `timings_ms["translate"]`."""
    if translator is None:
        return d
    started = time.perf_counter()
    labels = sorted({o.label for o in d.objects})
    lines = [line.text for line in d.text_lines] if translate_text else []
    sources = [d.caption or "", d.detailed_caption or "", *labels, *lines]
    if not any(s.strip() for s in sources):
        return d
    try:
        out = translator.translate(sources)
    except Exception:  # noqa: BLE001 - a failed translation must not cost the description: English stays
        log.exception("translating a description failed; it stays in English")
        return d
    caption, detailed = out[0], out[1]
    by_label = dict(zip(labels, out[2:2 + len(labels)]))
    new_lines = out[2 + len(labels):]
    translated = replace(
        d,
        caption=caption or d.caption,
        detailed_caption=detailed or d.detailed_caption,
        objects=[DetectedObject(by_label.get(o.label, o.label), o.box) for o in d.objects],
        text_lines=([TextLine(t or line.text, line.box, line.confidence) for t, line in zip(new_lines, d.text_lines)]
                    if translate_text else list(d.text_lines)),
        timings_ms=dict(d.timings_ms),
    )
    translated.timings_ms["translate"] = (time.perf_counter() - started) * 1000
    return translated


__all__ = [
    "TRANSLATION_MODELS",
    "TranslationModel",
    "Translator",
    "load_translator",
    "load_translator_for",
    "needs_translation",
    "translate_description",
    "translation_model_for",
    "translator_or_reason",
]
