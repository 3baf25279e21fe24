"""GIT (GenerativeImage2Text) in plain torch: the same parameter names as transformers' GitForCausalLM, so a
checkpoint's model.safetensors loads straight into it, and the same operations in the same order, so the
numbers are the same as transformers' (and the captions identical; tests/engine/test_lean_git.py checks).

What each part does (transformers 5.x modeling_git.py is the reference):
- vision: CLIP ViT; class token + patch embeddings + learned positions, pre-LayerNorm ("pre_layrnorm", the
  checkpoint's spelling), pre-norm encoder layers with eager attention (softmax in fp32, as transformers'
  eager_attention_forward), post-LayerNorm. GIT uses every token's features, not a pooled one.
- visual projection: Linear + LayerNorm (with the vision config's eps).
- text: word + position embeddings, LayerNorm; post-norm BERT layers. The image tokens attend among
  themselves (bidirectional), text tokens attend to every image token and to earlier text. Attention is
  PyTorch SDPA with an additive mask, the matmul form for a one-token step over many keys in bf16 — exactly
  what the app's transformers path runs (engine.captioners.git_attention / decode_attention).
- output: Linear over the vocabulary (tied to the word embeddings when the config says so).

torch is imported here at module level: this module is imported only when a GIT captioner is built.
"""
from __future__ import annotations

import torch
from torch import nn

from describe_aloud.engine.captioners.decode_attention import single_query_attention, takes_matmul_path
from describe_aloud.engine.captioners.lean_git.shape import ACTIVATION_NAMES, GitShape


def quick_gelu(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(1.702 * x)  # transformers' QuickGELUActivation, operation for operation


ACTIVATIONS = {"gelu": nn.functional.gelu, "quick_gelu": quick_gelu, "relu": nn.functional.relu}
assert set(ACTIVATIONS) == set(ACTIVATION_NAMES)


def _without_init(cls: type) -> type:
    """`cls` whose constructor leaves the parameters uninitialised: the model is built on the meta device
    and the checkpoint's tensors are assigned afterwards. (Random initialisation on the meta device goes
    through torch._refs, which imports torch._dynamo: ~2 s.) `plain_classes` turns them back into the
    torch classes once loaded, so engine.captioners.packed_linear recognises the Linear layers."""
    return type(cls.__name__, (cls,), {"reset_parameters": lambda self: None, "__module__": __name__})


Linear, LayerNorm, Embedding, Conv2d = (_without_init(c) for c in (nn.Linear, nn.LayerNorm, nn.Embedding, nn.Conv2d))
_TORCH_CLASS = {Linear: nn.Linear, LayerNorm: nn.LayerNorm, Embedding: nn.Embedding, Conv2d: nn.Conv2d}


def plain_classes(model: nn.Module) -> nn.Module:
    for module in model.modules():
        torch_class = _TORCH_CLASS.get(type(module))
        if torch_class is not None:
            module.__class__ = torch_class
    return model


# ------------------------------------------------------------------------------------------- vision
class VisionEmbeddings(nn.Module):
    def __init__(self, s: GitShape) -> None:
        super().__init__()
        self.class_embedding = nn.Parameter(torch.empty(s.vision_hidden_size))
        self.patch_embedding = Conv2d(s.num_channels, s.vision_hidden_size, kernel_size=s.patch_size,
                                         stride=s.patch_size, bias=False)
        self.position_embedding = Embedding(s.image_tokens, s.vision_hidden_size)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        batch = pixel_values.shape[0]
        patches = self.patch_embedding(pixel_values.to(dtype=self.patch_embedding.weight.dtype))
        patches = patches.flatten(2).transpose(1, 2)
        embeddings = torch.cat([self.class_embedding.expand(batch, 1, -1), patches], dim=1)
        positions = torch.arange(embeddings.shape[1], device=embeddings.device).unsqueeze(0)
        return embeddings + self.position_embedding(positions)


class VisionAttention(nn.Module):
    def __init__(self, s: GitShape) -> None:
        super().__init__()
        dim = s.vision_hidden_size
        self.head_dim = dim // s.vision_num_attention_heads
        self.scale = self.head_dim ** -0.5
        self.k_proj, self.v_proj = Linear(dim, dim), Linear(dim, dim)
        self.q_proj, self.out_proj = Linear(dim, dim), Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape[:-1]
        heads = (*shape, -1, self.head_dim)
        q = self.q_proj(x).view(heads).transpose(1, 2)
        k = self.k_proj(x).view(heads).transpose(1, 2)
        v = self.v_proj(x).view(heads).transpose(1, 2)
        weights = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        weights = nn.functional.softmax(weights, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(weights, v).transpose(1, 2).contiguous()
        return self.out_proj(out.reshape(*shape, -1).contiguous())


class VisionMLP(nn.Module):
    def __init__(self, s: GitShape) -> None:
        super().__init__()
        self.act = ACTIVATIONS[s.vision_hidden_act]
        self.fc1 = Linear(s.vision_hidden_size, s.vision_intermediate_size)
        self.fc2 = Linear(s.vision_intermediate_size, s.vision_hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class VisionLayer(nn.Module):
    def __init__(self, s: GitShape) -> None:
        super().__init__()
        self.self_attn = VisionAttention(s)
        self.layer_norm1 = LayerNorm(s.vision_hidden_size, eps=s.vision_layer_norm_eps)
        self.mlp = VisionMLP(s)
        self.layer_norm2 = LayerNorm(s.vision_hidden_size, eps=s.vision_layer_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class VisionEncoder(nn.Module):
    def __init__(self, s: GitShape) -> None:
        super().__init__()
        self.layers = nn.ModuleList(VisionLayer(s) for _ in range(s.vision_num_hidden_layers))


class VisionTransformer(nn.Module):
    def __init__(self, s: GitShape) -> None:
        super().__init__()
        self.embeddings = VisionEmbeddings(s)
        self.pre_layrnorm = LayerNorm(s.vision_hidden_size, eps=s.vision_layer_norm_eps)
        self.encoder = VisionEncoder(s)
        self.post_layernorm = LayerNorm(s.vision_hidden_size, eps=s.vision_layer_norm_eps)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        x = self.pre_layrnorm(self.embeddings(pixel_values))
        for layer in self.encoder.layers:
            x = layer(x)
        return self.post_layernorm(x)


class VisionModel(nn.Module):
    def __init__(self, s: GitShape) -> None:
        super().__init__()
        self.vision_model = VisionTransformer(s)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.vision_model(pixel_values)


class Projection(nn.Module):
    def __init__(self, s: GitShape) -> None:
        super().__init__()
        self.visual_projection = nn.Sequential(Linear(s.vision_hidden_size, s.hidden_size),
                                               LayerNorm(s.hidden_size, eps=s.vision_layer_norm_eps))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.visual_projection(features)


# --------------------------------------------------------------------------------------------- text
class TextEmbeddings(nn.Module):
    def __init__(self, s: GitShape) -> None:
        super().__init__()
        self.word_embeddings = Embedding(s.vocab_size, s.hidden_size)
        self.position_embeddings = Embedding(s.max_position_embeddings, s.hidden_size)
        self.LayerNorm = LayerNorm(s.hidden_size, eps=s.layer_norm_eps)

    def forward(self, input_ids: torch.Tensor, position: int) -> torch.Tensor:
        positions = torch.arange(position, position + input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        embeddings = self.word_embeddings(input_ids)
        embeddings += self.position_embeddings(positions)
        return self.LayerNorm(embeddings)


class SelfAttention(nn.Module):
    def __init__(self, s: GitShape) -> None:
        super().__init__()
        self.head_size = s.hidden_size // s.num_attention_heads
        self.all_head_size = self.head_size * s.num_attention_heads
        self.query = Linear(s.hidden_size, self.all_head_size)
        self.key = Linear(s.hidden_size, self.all_head_size)
        self.value = Linear(s.hidden_size, self.all_head_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cache: list, index: int) -> torch.Tensor:
        shape = x.shape[:-1]
        heads = (*shape, -1, self.head_size)
        q = self.query(x).view(heads).transpose(1, 2)
        k = self.key(x).view(heads).transpose(1, 2)
        v = self.value(x).view(heads).transpose(1, 2)
        if cache[index] is not None:  # transformers' DynamicCache appends the same way (torch.cat)
            k = torch.cat([cache[index][0], k], dim=-2)
            v = torch.cat([cache[index][1], v], dim=-2)
        cache[index] = (k, v)
        if takes_matmul_path(q, k):
            context = single_query_attention(q, k, v, mask, self.head_size ** -0.5)
        else:
            context = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return context.transpose(1, 2).reshape(*shape, self.all_head_size)


class ResidualOutput(nn.Module):
    """Linear back to the hidden size, the residual added, LayerNorm: after attention and after the MLP."""

    def __init__(self, in_size: int, s: GitShape) -> None:
        super().__init__()
        self.dense = Linear(in_size, s.hidden_size)
        self.LayerNorm = LayerNorm(s.hidden_size, eps=s.layer_norm_eps)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(x) + residual)


class Attention(nn.Module):
    def __init__(self, s: GitShape) -> None:
        super().__init__()
        self.self = SelfAttention(s)
        self.output = ResidualOutput(s.hidden_size, s)


class Intermediate(nn.Module):
    def __init__(self, s: GitShape) -> None:
        super().__init__()
        self.dense = Linear(s.hidden_size, s.intermediate_size)
        self.act = ACTIVATIONS[s.hidden_act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.dense(x))


class Layer(nn.Module):
    def __init__(self, s: GitShape) -> None:
        super().__init__()
        self.attention = Attention(s)
        self.intermediate = Intermediate(s)
        self.output = ResidualOutput(s.intermediate_size, s)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cache: list, index: int) -> torch.Tensor:
        attended = self.attention.output(self.attention.self(x, mask, cache, index), x)
        return self.output(self.intermediate(attended), attended)


class Encoder(nn.Module):
    def __init__(self, s: GitShape) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(s) for _ in range(s.num_hidden_layers))


class GitCore(nn.Module):
    def __init__(self, s: GitShape) -> None:
        super().__init__()
        self.embeddings = TextEmbeddings(s)
        self.image_encoder = VisionModel(s)
        self.encoder = Encoder(s)
        self.visual_projection = Projection(s)


class LeanGit(nn.Module):
    """GitForCausalLM's parameters (names included) with a decode made for greedy captioning."""

    def __init__(self, s: GitShape) -> None:
        super().__init__()
        self.shape = s
        self.git = GitCore(s)
        self.output = Linear(s.hidden_size, s.vocab_size)
        if s.tie_word_embeddings:
            self.output.weight = self.git.embeddings.word_embeddings.weight

    def encode_image(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """The projected image tokens, (batch, image tokens, hidden)."""
        return self.git.visual_projection(self.git.image_encoder(pixel_values))

    def prefill_mask(self, image_tokens: int, text_tokens: int, batch: int, dtype: torch.dtype,
                     device: torch.device) -> torch.Tensor:
        """Additive mask (0 = may attend, dtype's lowest = may not) for image tokens + the first text tokens:
        image tokens see all image tokens; text tokens see every image token and earlier text."""
        total = image_tokens + text_tokens
        allowed = torch.ones(total, total, dtype=torch.bool, device=device).tril()
        allowed[:image_tokens, :image_tokens] = True
        mask = torch.zeros(total, total, dtype=dtype, device=device)
        mask.masked_fill_(~allowed, torch.finfo(dtype).min)
        return mask.expand(batch, 1, total, total)

    def step(self, hidden: torch.Tensor, mask: torch.Tensor, cache: list) -> torch.Tensor:
        """Run the text layers over `hidden` (new positions only) with the cache; the last position's logits."""
        for index, layer in enumerate(self.git.encoder.layer):
            hidden = layer(hidden, mask, cache, index)
        return self.output(hidden[:, -1:, :])

    def embed_text(self, input_ids: torch.Tensor, position: int) -> torch.Tensor:
        return self.git.embeddings(input_ids, position)


def expected_keys(s: GitShape) -> set[str]:
    """The tensor names a checkpoint of this shape must hold (the tied output weight is not stored)."""
    with torch.device("meta"):
        names = set(LeanGit(s).state_dict().keys())
    if s.tie_word_embeddings:
        names.discard("output.weight")
    return names


__all__ = ["ACTIVATIONS", "GitShape", "LeanGit", "expected_keys"]
