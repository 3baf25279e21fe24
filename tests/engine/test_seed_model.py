"""The seed model: encoder freezing, attention, decoding, checkpoints and the registered "seed" backend."""
from __future__ import annotations

import urllib.error

import pytest
import torch

from describe_aloud.engine.captioners import backend_for, load_captioner
from describe_aloud.engine.errors import ModelLoadError, UserFacingError
from describe_aloud.engine.training.checkpoint import load_checkpoint, save_checkpoint
from describe_aloud.engine.training.config import ModelConfig
from describe_aloud.engine.training.model import CaptionModel, Encoder
from describe_aloud.engine.training.preprocessing import Preprocessing
from describe_aloud.engine.training.vocab import Vocabulary, tokenize

TINY = ModelConfig(encoder="resnet18", grid_size=2, embed_dim=16, attention_dim=16, decoder_dim=32, dropout=0.0,
                   max_caption_len=7)


@pytest.fixture
def vocab() -> Vocabulary:
    return Vocabulary.build(["a red circle above a blue square", "a blue square below a red circle"], min_count=1)


@pytest.fixture
def model(vocab) -> CaptionModel:
    torch.manual_seed(0)
    return CaptionModel(TINY, len(vocab), start_id=vocab.start_id, end_id=vocab.end_id).eval()


def test_encoder_is_frozen_by_default_and_unfreezes_exactly_the_top_blocks():
    encoder = Encoder("resnet18", grid_size=3)
    assert not any(p.requires_grad for p in encoder.parameters())
    encoder.set_trainable(2)
    blocks = list(encoder.blocks)
    assert all(p.requires_grad for b in blocks[-2:] for p in b.parameters())
    assert not any(p.requires_grad for b in blocks[:-2] for p in b.parameters())
    encoder.train()
    assert not any(m.training for m in blocks[0].modules())  # frozen BatchNorm statistics stay put
    assert all(m.training for m in blocks[-1].modules())
    features = encoder(torch.randn(2, 3, 64, 64))
    assert features.shape == (2, 9, 512)  # (B, grid*grid, channels)


def test_vocabulary_round_trip_and_unknown_words(vocab):
    assert vocab.words[:4] == ["<pad>", "<start>", "<end>", "<unk>"]
    ids = vocab.encode("A red zebra!")
    assert ids[0] == vocab.start_id and ids[-1] == vocab.end_id and vocab.unk_id in ids
    assert vocab.decode(vocab.encode("a blue circle")) == "a blue circle"
    assert Vocabulary.from_dict(vocab.to_dict()).words == vocab.words
    assert Vocabulary.build(["a cat", "a dog"], min_count=2).words == ["<pad>", "<start>", "<end>", "<unk>", "a"]
    assert tokenize("Hello, World") == ["hello", "world"]


def test_teacher_forcing_shapes_and_attention_sums_to_one(model, vocab):
    captions = torch.tensor([vocab.encode("a red circle above a blue square")] * 2)
    logits, alphas = model(torch.randn(2, 3, 64, 64), captions[:, :-1])
    steps = captions.size(1) - 1
    assert logits.shape == (2, steps, len(vocab))
    assert alphas.shape == (2, steps, 4)
    assert torch.allclose(alphas.sum(dim=2), torch.ones(2, steps), atol=1e-5)


def test_greedy_and_beam_give_words_with_an_attention_map_each(model):
    features = model.encoder(torch.randn(3, 3, 64, 64))
    greedy = model.decode(features, beam_size=1)
    beam = model.decode(features, beam_size=3)
    assert len(greedy) == len(beam) == 3
    for out in greedy + beam:
        assert len(out.ids) <= TINY.max_caption_len
        assert out.alphas.shape == (len(out.ids), 4)
        assert model.end_id not in out.ids
    # beam 1 == greedy, beam search keeps the best length-normalised score it found
    assert model.beam_search(features[:1], beam_size=1).ids == greedy[0].ids
    wide = model.beam_search(features[:1], beam_size=len(model.decoder.embedding.weight) + 5)  # wider than the vocabulary
    assert len(wide.ids) <= TINY.max_caption_len


def test_beam_search_scores_are_length_normalised_log_probabilities(vocab):
    """The beam's bookkeeping (reordering of hidden states, sequences, scores) must give each caption the
    score the decoder really gives it: sum of log-probabilities of its words and <end>, over its length."""
    torch.manual_seed(0)
    model = CaptionModel(TINY, len(vocab), start_id=vocab.start_id, end_id=vocab.end_id).eval()
    with torch.no_grad():
        model.decoder.fc.bias[vocab.end_id] += 1.5  # so random weights end their captions
        features = model.encoder(torch.randn(4, 3, 64, 64))

        def normalised_log_prob(feature: torch.Tensor, ids: list[int]) -> float:
            inputs = torch.tensor([[vocab.start_id, *ids]])
            targets = torch.tensor([[*ids, vocab.end_id]])
            logits, _ = model.decoder(feature, inputs)
            return float(torch.log_softmax(logits, dim=2).gather(2, targets.unsqueeze(2)).sum()) / targets.size(1)

        checked = 0
        for i in range(4):
            beam = model.beam_search(features[i : i + 1], beam_size=4)
            greedy = model.greedy(features[i : i + 1])[0]
            if len(beam.ids) < TINY.max_caption_len:  # ended with <end>
                assert beam.score == pytest.approx(normalised_log_prob(features[i : i + 1], beam.ids), abs=1e-4)
                checked += 1
                if len(greedy.ids) < TINY.max_caption_len:
                    assert beam.score >= normalised_log_prob(features[i : i + 1], greedy.ids) - 1e-4
    assert checked >= 2


def _checkpoint(model: CaptionModel, vocab: Vocabulary, preprocess: Preprocessing) -> dict:
    return {"epoch": 1, "model_config": model.config.to_dict(), "train_config": {"beam": 2},
            "vocab": vocab.to_dict(), "preprocessing": preprocess.to_dict(),
            "encoder": model.encoder.state_dict(), "decoder": model.decoder.state_dict()}


def test_checkpoint_loads_as_a_registered_captioner_with_its_preprocessing(tmp_path, model, vocab):
    from PIL import Image

    preprocess = Preprocessing(image_size=64, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    path = tmp_path / "model.pt"
    save_checkpoint(path, _checkpoint(model, vocab, preprocess))
    # plain data only: loads with weights_only=True (no pickled module)
    assert torch.load(path, weights_only=True)["format"] == "describe-aloud-seed"
    assert backend_for(str(path)) == "seed"
    captioner = load_captioner(str(path), device="cpu")
    assert captioner.preprocess == preprocess
    assert captioner.beam_size == 2
    assert captioner.capabilities == frozenset({"caption"})
    image = Image.new("RGB", (90, 50), (200, 30, 30))
    [result] = captioner.caption([image])
    features = model.encoder(preprocess.batch([image]))
    expected = vocab.decode(model.beam_search(features, beam_size=2).ids)
    assert result.caption == expected
    assert set(result.timings_ms) == {"encode", "decode"}
    [attention] = captioner.caption_with_attention([image])
    assert attention.caption == expected
    assert attention.maps.shape == (len(attention.words), 2, 2)


def test_broken_or_foreign_checkpoints_are_refused_clearly(tmp_path):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelLoadError, match="could not be read"):
        load_checkpoint(broken)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(ModelLoadError, match="not a checkpoint made by"):
        load_checkpoint(foreign)
    with pytest.raises(UserFacingError, match="does not exist"):
        load_captioner(str(tmp_path / "missing.pt"))


def test_unavailable_imagenet_weights_give_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # empty cache

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(UserFacingError, match="--no-pretrained"):
        Encoder("resnet18", pretrained=True)
