"""The seed captioner: a CNN encoder and an LSTM decoder with soft attention (Show, Attend and Tell).

Shapes use: B batch, P = grid*grid pixels of the encoder grid, E encoder channels, A attention size,
D decoder (LSTM) size, M word-embedding size, V vocabulary size, T caption steps, K beam size.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
import torch.nn.functional as F

from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.i18n import _
from describe_aloud.engine.training.config import ENCODERS, ModelConfig

# ---- encoder -----------------------------------------------------------------------------------------

def _backbone_blocks(name: str, pretrained: bool) -> tuple[list[nn.Module], int]:
    """The backbone cut into blocks (bottom to top) without pooling/classifier, and its output channels."""
    import torchvision

    if name not in ENCODERS:
        raise UserFacingError(_("Unknown encoder {name!r}. Choose one of: {items}.").format(name=name, items=', '.join(ENCODERS)))
    weights = "DEFAULT" if pretrained else None
    try:
        net = torchvision.models.get_model(name, weights=weights)
    except (OSError, RuntimeError, ValueError) as exc:  # URLError is an OSError
        raise UserFacingError(
            _("Could not get the ImageNet weights for {name} ({reason}). torchvision downloads them once "
              "into its cache (~/.cache/torch); connect to the network once, or train without them with "
              "--no-pretrained (or weights none / pretrained = false in the config file).").format(name=name, reason=exc)
        ) from exc
    if name.startswith("resnet"):
        stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        blocks = [stem, net.layer1, net.layer2, net.layer3, net.layer4]
        channels = net.fc.in_features
    else:  # mobilenet / efficientnet: `features` is already a sequence of blocks
        blocks = list(net.features.children())
        channels = _last_channels(net.features)
    return blocks, channels


def _last_channels(features: nn.Module) -> int:
    convs = [m for m in features.modules() if isinstance(m, nn.Conv2d)]
    return convs[-1].out_channels


class Encoder(nn.Module):
    """Image (B, 3, H, W) -> features (B, P, E). Frozen unless blocks are unfrozen with `set_trainable`.

    Frozen blocks run without gradients and stay in eval mode (their BatchNorm statistics do not move),
    so a frozen encoder is exactly the pretrained one.
    """

    def __init__(self, name: str = "resnet50", grid_size: int = 14, pretrained: bool = False) -> None:
        super().__init__()
        blocks, self.channels = _backbone_blocks(name, pretrained)
        self.blocks = nn.ModuleList(blocks)
        self.pool = nn.AdaptiveAvgPool2d((grid_size, grid_size))
        self.n_trainable = 0
        self.set_trainable(0)

    def set_trainable(self, k: int) -> None:
        """Train exactly the top `k` blocks (k < 0 or k >= number of blocks: all); freeze the rest."""
        n = len(self.blocks)
        self.n_trainable = n if k < 0 or k >= n else k
        for i, block in enumerate(self.blocks):
            for p in block.parameters():
                p.requires_grad_(i >= n - self.n_trainable)
        self.train(self.training)

    def trainable_blocks(self) -> list[nn.Module]:
        return list(self.blocks)[len(self.blocks) - self.n_trainable :]

    def train(self, mode: bool = True) -> "Encoder":
        super().train(mode)
        for i, block in enumerate(self.blocks):
            if i < len(self.blocks) - self.n_trainable:
                block.eval()
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        first_trainable = len(self.blocks) - self.n_trainable
        x = images  # (B, 3, H, W)
        with torch.no_grad():
            for block in list(self.blocks)[:first_trainable]:
                x = block(x)
        for block in list(self.blocks)[first_trainable:]:
            x = block(x)  # (B, E, h, w)
        x = self.pool(x)  # (B, E, grid, grid)
        return x.flatten(2).transpose(1, 2)  # (B, P, E)


# ---- decoder -----------------------------------------------------------------------------------------

class Attention(nn.Module):
    """Soft (Bahdanau, additive) attention over the encoder grid."""

    def __init__(self, encoder_dim: int, decoder_dim: int, attention_dim: int) -> None:
        super().__init__()
        self.encoder_att = nn.Linear(encoder_dim, attention_dim)
        self.decoder_att = nn.Linear(decoder_dim, attention_dim)
        self.full_att = nn.Linear(attention_dim, 1)

    def project(self, features: torch.Tensor) -> torch.Tensor:
        """The encoder side of the attention, computed once per image, not once per word."""
        return self.encoder_att(features)  # (B, P, A)

    def forward(
        self, features: torch.Tensor, att_enc: torch.Tensor, hidden: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        att_dec = self.decoder_att(hidden)  # (B, A)
        scores = self.full_att(torch.tanh(att_enc + att_dec.unsqueeze(1))).squeeze(2)  # (B, P)
        alpha = F.softmax(scores, dim=1)  # (B, P), sums to 1 over the grid
        context = (features * alpha.unsqueeze(2)).sum(dim=1)  # (B, E)
        return context, alpha


@dataclass
class DecodeOutput:
    """Decoded word ids (without <start>/<end>), their attention maps (n_words, P) and the score."""

    ids: list[int]
    alphas: torch.Tensor
    score: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class Decoder(nn.Module):
    def __init__(self, vocab_size: int, encoder_dim: int, config: ModelConfig) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.attention = Attention(encoder_dim, config.decoder_dim, config.attention_dim)
        self.embedding = nn.Embedding(vocab_size, config.embed_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.lstm = nn.LSTMCell(config.embed_dim + encoder_dim, config.decoder_dim)
        self.init_h = nn.Linear(encoder_dim, config.decoder_dim)
        self.init_c = nn.Linear(encoder_dim, config.decoder_dim)
        self.f_beta = nn.Linear(config.decoder_dim, encoder_dim)  # gate: how much the context is used
        self.fc = nn.Linear(config.decoder_dim, vocab_size)
        self.embedding.weight.data.uniform_(-0.1, 0.1)
        self.fc.bias.data.zero_()
        self.fc.weight.data.uniform_(-0.1, 0.1)

    def init_state(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = features.mean(dim=1)  # (B, E)
        return self.init_h(mean), self.init_c(mean)  # (B, D), (B, D)

    def step(
        self, features: torch.Tensor, att_enc: torch.Tensor, words: torch.Tensor, h: torch.Tensor, c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One word: previous word ids (B,) -> logits (B, V), attention (B, P), new h, c (B, D).
        `att_enc` is `self.attention.project(features)` (B, P, A)."""
        context, alpha = self.attention(features, att_enc, h)  # (B, E), (B, P)
        gate = torch.sigmoid(self.f_beta(h))  # (B, E), the gating scalar per channel
        context = gate * context  # (B, E)
        embedded = self.embedding(words)  # (B, M)
        h, c = self.lstm(torch.cat([embedded, context], dim=1), (h, c))  # (B, D), (B, D)
        logits = self.fc(self.dropout(h))  # (B, V)
        return logits, alpha, h, c

    def forward(self, features: torch.Tensor, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing. features (B, P, E), inputs (B, T) = <start> w1 .. (padded) ->
        logits (B, T, V) predicting w1 .. <end>, attention (B, T, P)."""
        h, c = self.init_state(features)
        att_enc = self.attention.project(features)  # (B, P, A)
        logits, alphas = [], []
        for t in range(inputs.size(1)):
            step_logits, alpha, h, c = self.step(features, att_enc, inputs[:, t], h, c)
            logits.append(step_logits)
            alphas.append(alpha)
        return torch.stack(logits, dim=1), torch.stack(alphas, dim=1)


# ---- the whole model ---------------------------------------------------------------------------------

class CaptionModel(nn.Module):
    def __init__(
        self, config: ModelConfig, vocab_size: int, *, start_id: int = 1, end_id: int = 2, pretrained: bool = False
    ) -> None:
        super().__init__()
        self.config = config
        self.start_id, self.end_id = start_id, end_id
        self.encoder = Encoder(config.encoder, config.grid_size, pretrained=pretrained)
        self.decoder = Decoder(vocab_size, self.encoder.channels, config)

    def forward(self, images: torch.Tensor, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.decoder(self.encoder(images), inputs)

    @torch.no_grad()
    def greedy(self, features: torch.Tensor, max_len: int | None = None) -> list[DecodeOutput]:
        """Most likely word at each step, for a batch of encoded images (B, P, E)."""
        max_len = max_len or self.config.max_caption_len
        batch = features.size(0)
        h, c = self.decoder.init_state(features)
        att_enc = self.decoder.attention.project(features)  # (B, P, A)
        words = torch.full((batch,), self.start_id, dtype=torch.long, device=features.device)
        ids, alphas = [], []
        done = torch.zeros(batch, dtype=torch.bool, device=features.device)
        for _step in range(max_len):
            logits, alpha, h, c = self.decoder.step(features, att_enc, words, h, c)
            words = logits.argmax(dim=1)
            ids.append(words)
            alphas.append(alpha)
            done |= words == self.end_id
            if bool(done.all()):
                break
        id_rows = torch.stack(ids, dim=1).tolist()
        alpha_rows = torch.stack(alphas, dim=1).float().cpu()
        outputs = []
        for i, row in enumerate(id_rows):
            n = row.index(self.end_id) if self.end_id in row else len(row)
            outputs.append(DecodeOutput(row[:n], alpha_rows[i, :n]))
        return outputs

    @torch.no_grad()
    def beam_search(
        self, features: torch.Tensor, beam_size: int = 3, max_len: int | None = None, length_penalty: float = 1.0
    ) -> DecodeOutput:
        """Beam search for ONE encoded image (1, P, E). Finished captions are ranked by their total
        log-probability divided by length**length_penalty (so long captions are not unfairly beaten)."""
        max_len = max_len or self.config.max_caption_len
        k = beam_size
        features = features.expand(k, -1, -1)  # (K, P, E)
        h, c = self.decoder.init_state(features)  # (K, D)
        att_enc = self.decoder.attention.project(features)  # (K, P, A), the same for every beam
        words = torch.full((k,), self.start_id, dtype=torch.long, device=features.device)  # (K,)
        scores = torch.zeros(k, device=features.device)  # (K,) total log-probability
        sequences = torch.zeros(k, 0, dtype=torch.long, device=features.device)  # (K, t)
        seq_alphas = torch.zeros(k, 0, features.size(1), device=features.device)  # (K, t, P)
        finished: list[DecodeOutput] = []
        alive = k
        for t in range(max_len):
            logits, alpha, h, c = self.decoder.step(features[:alive], att_enc[:alive], words, h, c)
            log_probs = F.log_softmax(logits.float(), dim=1)  # (alive, V)
            total = scores.unsqueeze(1) + log_probs  # (alive, V)
            if t == 0:
                total = total[:1]  # all beams are identical at the start: expand from one
            top_scores, flat = total.flatten().topk(min(alive, total.numel()))  # (alive,)
            beam_index = flat // log_probs.size(1)  # (alive,) which beam each candidate extends
            word_index = flat % log_probs.size(1)  # (alive,) with which word
            sequences = torch.cat([sequences[beam_index], word_index.unsqueeze(1)], dim=1)
            seq_alphas = torch.cat([seq_alphas[beam_index], alpha[beam_index].float().unsqueeze(1)], dim=1)
            ended = word_index == self.end_id
            for i in ended.nonzero().flatten().tolist():
                length = sequences.size(1)  # words + <end>
                finished.append(DecodeOutput(
                    sequences[i, :-1].tolist(), seq_alphas[i, :-1].cpu(),
                    float(top_scores[i]) / (length**length_penalty),
                ))
            keep = (~ended).nonzero().flatten()
            alive = int(keep.numel())
            if alive == 0 or len(finished) >= k:
                break
            sequences, seq_alphas = sequences[keep], seq_alphas[keep]
            scores = top_scores[keep]
            h, c = h[beam_index[keep]], c[beam_index[keep]]
            words = word_index[keep]
        if not finished:  # nothing ended within max_len: take the best unfinished caption
            length = sequences.size(1)
            finished.append(DecodeOutput(sequences[0].tolist(), seq_alphas[0].cpu(), float(scores[0]) / length**length_penalty))
        return max(finished, key=lambda out: out.score)

    def decode(self, features: torch.Tensor, beam_size: int = 1, max_len: int | None = None) -> list[DecodeOutput]:
        """Greedy (beam_size 1) or beam search for a batch of encoded images (B, P, E)."""
        if beam_size <= 1:
            return self.greedy(features, max_len)
        return [self.beam_search(features[i : i + 1], beam_size, max_len) for i in range(features.size(0))]
