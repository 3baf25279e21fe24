"""Training: data formats, config files, transfer-learning stages, resume, and reaching a quality bar."""
from __future__ import annotations

import json

import pytest
import torch

from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.training.config import TrainConfig, load_config
from describe_aloud.engine.training.dataset import load_caption_data
from describe_aloud.engine.training.train import Trainer, config_for_resume, train
from tests.fixtures.shapes import make_shapes_dataset, tiny_overrides


def _quiet(message: str) -> None:
    pass


# ---- data --------------------------------------------------------------------------------------------

def test_karpathy_and_coco_files_give_the_same_images_and_captions(tiny_shapes_dataset):
    karpathy = load_caption_data(tiny_shapes_dataset.karpathy, tiny_shapes_dataset.images)
    coco = load_caption_data(tiny_shapes_dataset.coco, tiny_shapes_dataset.images)
    assert (karpathy.format, coco.format) == ("karpathy", "coco")
    assert [len(karpathy.split(s)) for s in ("train", "val", "test")] == [24, 6, 6]
    assert [r.key for r in karpathy.split("test")] == [r.key for r in coco.split("test")]
    first = karpathy.records[0]
    assert len(first.captions) == 1 and first.path.is_file()
    assert [c.lower().rstrip(".") for c in coco.records[0].captions] == list(first.captions)


def test_missing_images_are_left_out_and_reported(tmp_path, tiny_shapes_dataset):
    raw = json.loads(tiny_shapes_dataset.coco.read_text())
    raw["images"].append({"id": 999, "file_name": "gone.png"})
    raw["annotations"].append({"image_id": 999, "caption": "nothing"})
    for image in raw["images"]:
        image.pop("split", None)  # no splits: a stable held-out part is used for validation
    path = tmp_path / "captions.json"
    path.write_text(json.dumps(raw))
    data = load_caption_data(path, tiny_shapes_dataset.images)
    assert data.missing_images == ["gone.png"]
    assert len(data.records) == 36 and not data.has_splits
    train_keys = {r.key for r in data.split("train")}
    val_keys = {r.key for r in data.split("val")}
    assert val_keys and not train_keys & val_keys and len(train_keys | val_keys) == 36
    assert len(data.split("all")) == 36


def test_unreadable_caption_files_give_clear_messages(tmp_path, tiny_shapes_dataset):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(UserFacingError, match="not valid JSON"):
        load_caption_data(bad, tiny_shapes_dataset.images)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": 1}))
    with pytest.raises(UserFacingError, match="neither a COCO-style"):
        load_caption_data(other, tiny_shapes_dataset.images)


# ---- config ------------------------------------------------------------------------------------------

def test_config_file_then_command_line_overrides(tmp_path):
    toml = tmp_path / "train.toml"
    toml.write_text('epochs = 7\nbatch_size = 4\nmax_val_images = 10\n[model]\nencoder = "resnet18"\ngrid_size = 7\n')
    config = load_config(toml, {"epochs": 3, "batch_size": None, "model": {"grid_size": None, "dropout": 0.1}})
    assert (config.epochs, config.batch_size, config.max_val_images) == (3, 4, 10)
    assert (config.model.encoder, config.model.grid_size, config.model.dropout) == ("resnet18", 7, 0.1)
    saved = tmp_path / "config.json"
    config.save(saved)
    assert TrainConfig.from_dict(json.loads(saved.read_text())) == config
    assert load_config(saved) == config

    (tmp_path / "typo.json").write_text(json.dumps({"epoch": 3}))
    with pytest.raises(UserFacingError, match="Unknown training option.*epoch"):
        load_config(tmp_path / "typo.json")
    with pytest.raises(UserFacingError, match="encoder"):
        load_config(None, {"model": {"encoder": "vgg99"}})


# ---- transfer-learning stages ------------------------------------------------------------------------

def test_encoder_frozen_then_exactly_the_top_blocks_unfreeze_with_their_own_lr(tmp_path, tiny_shapes_dataset):
    config = load_config(None, tiny_overrides(tiny_shapes_dataset, tmp_path / "run", unfreeze_epoch=2,
                                              unfreeze_blocks=2, encoder_lr=1e-3, decoder_lr=5e-3))
    trainer = Trainer(config, log=_quiet, progress=False)
    blocks = list(trainer.model.encoder.blocks)
    before = {k: v.clone() for k, v in trainer.model.encoder.state_dict().items()}
    decoder_before = {k: v.clone() for k, v in trainer.model.decoder.state_dict().items()}

    trainer.run_epoch(1)  # stage 1: encoder frozen
    assert not any(p.requires_grad for p in trainer.model.encoder.parameters())
    assert [g["name"] for g in trainer.optimizer.param_groups] == ["decoder"]
    after_1 = trainer.model.encoder.state_dict()
    assert all(torch.equal(before[k], after_1[k]) for k in before)  # weights and BatchNorm statistics
    assert any(not torch.equal(decoder_before[k], v) for k, v in trainer.model.decoder.state_dict().items())

    trainer.run_epoch(2)  # stage 2: the top 2 blocks train, with their own learning rate
    groups = {g["name"]: g for g in trainer.optimizer.param_groups}
    assert groups["decoder"]["lr"] == 5e-3 and groups["encoder"]["lr"] == 1e-3
    top = {id(p) for b in blocks[-2:] for p in b.parameters()}
    assert {id(p) for p in groups["encoder"]["params"]} == top
    assert all(p.requires_grad == (id(p) in top) for p in trainer.model.encoder.parameters())
    after_2 = trainer.model.encoder.state_dict()
    bottom_keys = [k for k in before if int(k.split(".")[1]) < len(blocks) - 2]
    top_keys = [k for k in before if int(k.split(".")[1]) >= len(blocks) - 2 and before[k].is_floating_point()]
    assert all(torch.equal(before[k], after_2[k]) for k in bottom_keys)
    assert all(not torch.equal(before[k], after_2[k]) for k in top_keys if k.endswith("weight"))
    assert [h["encoder_blocks_training"] for h in trainer.history] == [0, 2]


# ---- resume ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("unfreeze_epoch", [1, 2])
def test_resumed_run_matches_an_uninterrupted_run(tmp_path, tiny_shapes_dataset, unfreeze_epoch):
    options = dict(unfreeze_epoch=unfreeze_epoch, unfreeze_blocks=2)
    whole = train(load_config(None, tiny_overrides(tiny_shapes_dataset, tmp_path / "whole", epochs=2, **options)),
                  log=_quiet, progress=False)
    train(load_config(None, tiny_overrides(tiny_shapes_dataset, tmp_path / "split", epochs=1, **options)),
          log=_quiet, progress=False)
    config, ignored = config_for_resume(tmp_path / "split", {"epochs": 2, "batch_size": 99})
    assert ignored == ["batch_size"]  # a resumed run keeps its settings
    resumed = train(config, resume=True, log=_quiet, progress=False)

    a = torch.load(tmp_path / "whole" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "split" / "last.pt", weights_only=True)
    assert a["epoch"] == b["epoch"] == 2
    for part in ("encoder", "decoder"):
        assert a[part].keys() == b[part].keys()
        assert all(torch.equal(a[part][k], b[part][k]) for k in a[part]), part
    for state_a, state_b in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert [h["loss"] for h in whole.history] == [h["loss"] for h in resumed.history]


def test_a_finished_run_is_never_overwritten(tmp_path, tiny_shapes_dataset):
    config = load_config(None, tiny_overrides(tiny_shapes_dataset, tmp_path / "run", epochs=1))
    train(config, log=_quiet, progress=False)
    stamp = (tmp_path / "run" / "last.pt").stat().st_mtime_ns
    with pytest.raises(UserFacingError, match="--resume"):
        train(load_config(None, tiny_overrides(tiny_shapes_dataset, tmp_path / "run", epochs=1)), log=_quiet)
    assert (tmp_path / "run" / "last.pt").stat().st_mtime_ns == stamp
    with pytest.raises(UserFacingError, match="no run to resume"):
        train(load_config(None, tiny_overrides(tiny_shapes_dataset, tmp_path / "empty")), resume=True, log=_quiet)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["model"]["encoder"] == "resnet18" and saved["unfreeze_blocks"] == -1 and saved["seed"] == 3


# ---- quality -----------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.timeout(1800)  # about 3 minutes on two quiet CPU cores; far more on a busy machine
def test_training_from_scratch_captions_held_out_shapes(tmp_path_factory):
    """A resnet18 without pretrained weights learns colours, shapes and where they are; on images it
    never saw, beam search reaches BLEU-4 >= 0.8 and does at least as well as greedy decoding."""
    from describe_aloud.engine.training.evaluate import evaluate

    dataset = make_shapes_dataset(tmp_path_factory.mktemp("shapes64"), n_train=1600, n_val=60, n_test=80, size=64)
    out = tmp_path_factory.mktemp("quality") / "run"
    config = load_config(None, tiny_overrides(
        dataset, out, epochs=8, batch_size=32, decoder_lr=2e-3, encoder_lr=1e-3, beam=3, cache_images=True,
        model={"embed_dim": 64, "attention_dim": 64, "decoder_dim": 128, "dropout": 0.1}))
    train(config, log=_quiet, progress=False)
    common = dict(split="test", batch_size=40, device="cpu", with_meteor=False, progress=False, log=_quiet)
    beam = evaluate(str(out / "best.pt"), dataset.karpathy, dataset.images, beam=3, **common)
    greedy = evaluate(str(out / "best.pt"), dataset.karpathy, dataset.images, beam=1, **common)
    assert len(beam.captions) == 80
    assert beam.scores.corpus["BLEU-4"] >= 0.8, beam.captions
    assert beam.scores.corpus["BLEU-4"] >= greedy.scores.corpus["BLEU-4"]
