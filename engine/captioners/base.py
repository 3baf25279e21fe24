"""The captioner protocol and the registry of captioner backends.

A backend is registered by name with a factory; the factory may be given as a "module:attribute" string
so that heavy imports (torch, transformers, torchvision) happen only when that backend is built.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

from PIL import Image

from describe_aloud.engine.description import DetectedObject

CAPABILITIES = ("caption", "detailed", "objects", "ocr")


@dataclass
class CaptionResult:
    caption: str
    detailed_caption: str | None = None
    objects: list[DetectedObject] = field(default_factory=list)
    # Per-stage milliseconds for this image (a batch's time is shared out over its images).
    timings_ms: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class Captioner(Protocol):
    """Turns images into captions. Implementations are not thread-safe: one thread owns one captioner."""

    model_id: str
    capabilities: frozenset[str]
    # The beam width decoding uses; None when the backend decides it and it cannot be set (evaluate --beam).
    beam_size: int | None

    def caption(
        self,
        images: Sequence[Image.Image],
        *,
        detail: bool = False,
        objects: bool = False,
        max_new_tokens: int | None = None,
        plain: bool = True,
    ) -> list[CaptionResult]:
        """One result per image, in order. `detail` asks for the detailed caption too (when capable),
        `objects` for detected objects with boxes (when capable). `plain=False` leaves the plain caption
        out when something else was asked for and can be made (Describer.add_detail); a backend that can
        only caption ignores it. A backend with `streams_text = True` also takes `on_text=`, a callable
        given a single row's answer so far while it is decoded (Describer.add_detail says it sentence by
        sentence); the Describer passes it only to those."""
        ...

    def warm_up(self) -> None:
        """Run once on the owner thread right after loading, so the first real request pays no lazy
        initialisation."""
        ...


CaptionerFactory = Callable[..., Captioner]
# Cheap (no torch): does this backend load the model spec the user typed (name, id, folder, file)?
SpecClaim = Callable[[str], bool]


class CaptionerRegistryError(KeyError):
    pass


class _Registry:
    def __init__(self) -> None:
        self._factories: dict[str, CaptionerFactory | str] = {}
        self._claims: dict[str, SpecClaim] = {}

    def register(self, name: str, factory: CaptionerFactory | str, claims: SpecClaim) -> None:
        if name in self._factories:
            raise CaptionerRegistryError(f"a captioner backend named {name!r} is already registered")
        self._factories[name] = factory
        self._claims[name] = claims

    def claims(self, name: str) -> SpecClaim:
        self.get(name)  # the same error for an unknown name
        return self._claims[name]

    def get(self, name: str) -> CaptionerFactory:
        try:
            factory = self._factories[name]
        except KeyError:
            known = ", ".join(sorted(self._factories)) or "none"
            raise CaptionerRegistryError(f"no captioner backend named {name!r} (known: {known})") from None
        if isinstance(factory, str):
            module_name, _, attr = factory.partition(":")
            obj: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
            factory = obj
            self._factories[name] = factory
        return factory

    def names(self) -> list[str]:
        """In registration order."""
        return list(self._factories)


REGISTRY = _Registry()


def register_captioner(name: str, factory: CaptionerFactory | str, *, claims: SpecClaim) -> None:
    """Register a backend and what it claims to load. Raises CaptionerRegistryError on a duplicate name."""
    REGISTRY.register(name, factory, claims)


def claims_of(name: str) -> SpecClaim:
    return REGISTRY.claims(name)


def get_captioner_factory(name: str) -> CaptionerFactory:
    return REGISTRY.get(name)


def list_captioners() -> list[str]:
    return REGISTRY.names()
