"""The one image preprocessing of the seed model, shared by training, evaluation and the app.

It is stored inside every checkpoint (`Preprocessing.to_dict`) and rebuilt from it (`from_dict`), so the
pixels a trained model sees in the app are prepared exactly as during training.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from PIL import Image, ImageOps

if TYPE_CHECKING:  # torch is imported lazily: `import engine` must stay light.
    import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocessing:
    """Square resize (the whole image, no crop: a caption must not miss what is at the edges), then
    normalisation with the encoder's mean / std."""

    image_size: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __call__(self, image: Image.Image) -> "torch.Tensor":
        """PIL image (any mode) -> float tensor (3, image_size, image_size)."""
        import torch

        image = ImageOps.exif_transpose(image).convert("RGB")
        image = image.resize((self.image_size, self.image_size), Image.Resampling.BILINEAR)
        # (H, W, 3) uint8 -> (3, H, W) float in [0, 1]
        pixels = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
        pixels = pixels.view(self.image_size, self.image_size, 3).permute(2, 0, 1).float().div_(255.0)
        mean = torch.tensor(self.mean).view(3, 1, 1)
        std = torch.tensor(self.std).view(3, 1, 1)
        return (pixels - mean) / std

    def batch(self, images: Sequence[Image.Image]) -> "torch.Tensor":
        """Several PIL images -> (N, 3, image_size, image_size)."""
        import torch

        return torch.stack([self(image) for image in images])

    def to_dict(self) -> dict[str, Any]:
        return {"image_size": self.image_size, "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Preprocessing":
        return cls(
            image_size=int(data["image_size"]),
            mean=tuple(float(v) for v in data["mean"]),  # type: ignore[arg-type]
            std=tuple(float(v) for v in data["std"]),  # type: ignore[arg-type]
        )


def load_image(path: str) -> Image.Image:
    """Open an image file fully (so the file handle is closed) as RGB. Through the regular-file gate: a FIFO
    in a training folder is refused instead of hanging the run (engine.safe_files)."""
    from describe_aloud.engine.safe_files import open_regular

    with open_regular(path) as fh, Image.open(fh) as image:
        image.load()
        return ImageOps.exif_transpose(image).convert("RGB")


__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "Preprocessing", "load_image"]
