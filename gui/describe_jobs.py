"""What the describe worker is asked (DescribeJob), what it hands back early (JobPartial) and at the end
(JobResult), and the small helpers around them (thread count, quick thumbnails, a model's name for the
status line). Plain data: created on the GUI thread, filled on the worker thread, read on the GUI thread."""
from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from describe_aloud.engine.description import Description
from describe_aloud.engine.history import THUMBNAIL_SIZE, make_thumbnail
from describe_aloud.engine.i18n import _

_job_ids = itertools.count(1)


@dataclass
class DescribeJob:
    """One image to describe: either `image` (a PIL image, e.g. a capture) or `path` (decoded in the worker)."""

    source: str
    image: Any = None
    path: Path | None = None
    detail: bool = False  # ask the main captioner for its detailed caption
    more_detail: bool = False  # run the detail model (settings.detail_model) instead
    interrupt: bool = True  # whether its speech may cut the previous one (False for the 2nd+ dropped file)
    history_id: int | None = None  # for "more detail": the history entry it adds to
    # "screen" for a capture: described as a screen (text first), and its text is handed over early.
    kind_hint: str | None = None
    # Stages done before the worker (e.g. {"capture": 41.0}), merged into Description.timings_ms.
    timings_ms: dict[str, float] = field(default_factory=dict)
    id: int = field(default_factory=lambda: next(_job_ids))
    submitted_at: float = field(default_factory=time.perf_counter)


@dataclass
class JobPartial:
    """The text of a screen, read before the caption is ready: speak its rendering now and, with the
    JobResult, only what the final rendering adds (`Rendering.after`)."""

    job: DescribeJob
    description: Description  # without caption
    # Read before the captioner had loaded (the app's first seconds): the caption follows in the JobResult
    # once it has (gui.worker), so what is said now says that it follows.
    awaiting_caption: bool = False


@dataclass
class JobResult:
    job: DescribeJob
    description: Description
    image: Any  # the decoded PIL image (kept for "more detail")
    thumbnail: bytes | None


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def set_torch_threads(count: int) -> None:
    """torch's intra-op thread count (process-wide; new threads pick it up on their first op). Set
    explicitly so the app does not depend on OMP_NUM_THREADS."""
    import torch

    if torch.get_num_threads() != count:
        torch.set_num_threads(count)


def make_thumbnail_quickly(image) -> bytes | None:
    """The history's thumbnail of `image`, made from a box-reduced copy: a screen capture is not copied
    whole (make_thumbnail copies its input) and there are far fewer pixels to filter."""
    try:
        factor = max(1, max(image.size) // (2 * THUMBNAIL_SIZE))
        small = image.reduce(factor) if factor > 1 else image
    except (AttributeError, ValueError, OSError):  # a mode reduce() does not take: the full image then
        small = image
    return make_thumbnail(small)


def model_label(spec: str | None) -> str:
    """A short name for a model spec, for messages (a folder is named by its last part)."""
    if not spec:
        return _("the default model")
    return Path(spec).name if ("/" in spec or "\\" in spec) and Path(spec).exists() else spec
