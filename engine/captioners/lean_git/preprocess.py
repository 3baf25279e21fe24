"""CLIPImageProcessor's preprocessing in plain torch, value for value: what transformers 5 does with its
torchvision backend (the default) for a GIT checkpoint, without importing torchvision (whose import pulls
in torch._dynamo: seconds at start-up).

The steps, as transformers runs them: the RGB image as a uint8 tensor (channels first); resize so the
shortest edge is `size` (the long edge int(size * long / short)) with bicubic + antialias, uint8 to uint8
(torchvision's resize of a uint8 image on a CPU); center crop (top/left
int((H - h) / 2)); rescale and normalize fused: (x - mean * 255) / (std * 255) in float32. Images of the
same size are resized as one batch, as transformers groups them (the result per image is the same).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from PIL import Image

from describe_aloud.engine.captioners.lean_git.config import ImageSettings


def resized_size(height: int, width: int, settings: ImageSettings) -> tuple[int, int]:
    if settings.resize_to is not None:
        return settings.resize_to
    size = settings.shortest_edge
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    return (new_long, new_short) if width <= height else (new_short, new_long)


def _resize(batch: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(batch.shape[-2:]) == size:
        return batch
    # uint8 in, uint8 out: PyTorch's own uint8 bicubic kernel, which torchvision uses on a CPU.
    return torch.nn.functional.interpolate(batch, size=list(size), mode="bicubic", align_corners=False,
                                           antialias=True)


def _center_crop(image: torch.Tensor, crop: tuple[int, int]) -> torch.Tensor:
    crop_h, crop_w = crop
    height, width = image.shape[-2:]
    if crop_w > width or crop_h > height:  # torchvision pads with zeros first (a tiny resize target only)
        pad = [(crop_w - width) // 2 if crop_w > width else 0, (crop_h - height) // 2 if crop_h > height else 0,
               (crop_w - width + 1) // 2 if crop_w > width else 0, (crop_h - height + 1) // 2 if crop_h > height else 0]
        image = torch.nn.functional.pad(image, (pad[0], pad[2], pad[1], pad[3]), value=0)
        height, width = image.shape[-2:]
        if (crop_h, crop_w) == (height, width):
            return image
    top, left = int((height - crop_h) / 2.0), int((width - crop_w) / 2.0)
    return image[..., top:top + crop_h, left:left + crop_w]


def pixel_values(images: Sequence[Image.Image], settings: ImageSettings) -> torch.Tensor:
    """(batch, 3, crop height, crop width) float32, as GitProcessor(images=...)["pixel_values"]."""
    mean = torch.tensor(settings.mean) * (1.0 / settings.rescale_factor)
    std = torch.tensor(settings.std) * (1.0 / settings.rescale_factor)
    tensors = [torch.from_numpy(np.array(im.convert("RGB") if im.mode != "RGB" else im)).permute(2, 0, 1).contiguous()
               for im in images]
    out: list[torch.Tensor | None] = [None] * len(tensors)
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, tensor in enumerate(tensors):
        groups.setdefault(tuple(tensor.shape), []).append(index)
    for shape, indices in groups.items():
        batch = torch.stack([tensors[i] for i in indices])
        batch = _resize(batch, resized_size(shape[1], shape[2], settings))
        batch = _center_crop(batch, settings.crop)
        batch = batch.to(torch.float32).sub_(mean.view(-1, 1, 1)).div_(std.view(-1, 1, 1))
        for position, index in enumerate(indices):
            out[index] = batch[position]
    return torch.stack(out)  # type: ignore[arg-type]


__all__ = ["pixel_values", "resized_size"]
