"""The numbers of a GIT config.json that decide the model's shape and arithmetic (no torch here: the folder
check runs before anything heavy is imported)."""
from __future__ import annotations

from dataclasses import dataclass

# transformers' ACT2FN names the lean model computes the same way (model.ACTIVATIONS).
ACTIVATION_NAMES = ("gelu", "quick_gelu", "relu")


@dataclass(frozen=True)
class GitShape:
    """What engine.captioners.lean_git.config reads from config.json (it refuses anything else that would
    change the math)."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    hidden_act: str
    max_position_embeddings: int
    layer_norm_eps: float
    tie_word_embeddings: bool
    vision_hidden_size: int
    vision_intermediate_size: int
    vision_num_hidden_layers: int
    vision_num_attention_heads: int
    vision_hidden_act: str
    vision_layer_norm_eps: float
    image_size: int
    patch_size: int
    num_channels: int

    @property
    def image_tokens(self) -> int:
        return (self.image_size // self.patch_size) ** 2 + 1
