"""`train`, `evaluate` and `describe --model run/best.pt` end to end through main.main."""
from __future__ import annotations

import json
import shutil

import pytest

from describe_aloud.cli import main
from describe_aloud.engine.training.metrics import METRIC_NAMES

TINY_TOML = """\
# a seconds-long run: tiny decoder, small images
image_size = 32
min_word_count = 1
batch_size = 8
beam = 2
num_workers = 0
[model]
grid_size = 2
embed_dim = 16
attention_dim = 16
decoder_dim = 32
max_caption_len = 12
"""


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory, tiny_shapes_dataset):
    """One run made by `python main.py train ... --epochs 1`, then stdout of that command."""
    root = tmp_path_factory.mktemp("cli_run")
    config = root / "tiny.toml"
    config.write_text(TINY_TOML)
    out = root / "run"
    argv = ["train", "--config", str(config), "--data", str(tiny_shapes_dataset.karpathy),
            "--images", str(tiny_shapes_dataset.images), "--out", str(out), "--epochs", "1",
            "--encoder", "resnet18", "--no-pretrained", "--seed", "5", "--no-progress"]
    return out, argv


def test_train_writes_checkpoints_and_the_config_of_every_choice(cli_run, capsys):
    out, argv = cli_run
    assert main.main(argv) == 0
    printed = capsys.readouterr().out
    assert "epoch 1/1" in printed and "BLEU-4" in printed and "best.pt" in printed
    assert {"config.json", "last.pt", "best.pt", "history.json"} <= {p.name for p in out.iterdir()}
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["encoder"] == "resnet18" and config["pretrained"] is False
    assert config["image_size"] == 32 and config["seed"] == 5 and config["epochs"] == 1
    assert config["unfreeze_epoch"] == 1 and config["unfreeze_blocks"] == -1  # from scratch: all of it trains

    # interrupted after epoch 1 -> continued to epoch 2
    assert main.main(["train", "--out", str(out), "--resume", "--epochs", "2", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "epoch 2/2" in printed and "epoch 1/" not in printed
    assert len(json.loads((out / "history.json").read_text())) == 2


def test_train_refuses_missing_data_and_an_existing_run(cli_run, capsys, tmp_path):
    out, argv = cli_run
    assert main.main(["train", "--out", str(tmp_path / "x"), "--no-progress"]) == 1
    assert "--data" in capsys.readouterr().err
    assert main.main(argv) == 1  # `out` already holds a run: nothing is overwritten
    assert "--resume" in capsys.readouterr().err


def test_evaluate_a_seed_checkpoint_prints_a_table_and_writes_captions(cli_run, tiny_shapes_dataset, capsys, tmp_path):
    out, argv = cli_run
    if not (out / "best.pt").exists():
        assert main.main(argv) == 0
    results = tmp_path / "results.json"
    code = main.main(["evaluate", "--model", str(out / "best.pt"), "--data", str(tiny_shapes_dataset.karpathy),
                      "--images", str(tiny_shapes_dataset.images), "--beam", "2", "--out", str(results),
                      "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0
    for name in METRIC_NAMES:
        assert name in printed
    data = json.loads(results.read_text())
    assert data["split"] == "test" and data["n_images"] == 6
    assert set(data["metrics"]) == set(METRIC_NAMES)
    assert all(isinstance(i["caption"], str) and len(i["references"]) == 1 for i in data["images"])
    if shutil.which("java"):
        assert data["metrics"]["METEOR"] is not None
    else:
        assert "Java" in printed


def test_evaluate_a_pretrained_family_model(tiny_git_dir, tiny_shapes_dataset, capsys, tmp_path):
    results = tmp_path / "git.json"
    code = main.main(["evaluate", "--model", str(tiny_git_dir), "--data", str(tiny_shapes_dataset.coco),
                      "--images", str(tiny_shapes_dataset.images), "--split", "val", "--no-meteor",
                      "--out", str(results), "--no-progress", "--precision", "fp32"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = json.loads(results.read_text())
    assert data["n_images"] == 6 and data["metrics"]["METEOR"] is None
    assert all(i["caption"] for i in data["images"])
    assert data["metrics"]["CIDEr-D"] is not None


def test_evaluate_reports_a_missing_model_clearly(tiny_shapes_dataset, capsys, tmp_path):
    code = main.main(["evaluate", "--model", str(tmp_path / "nothing.pt"), "--data", str(tiny_shapes_dataset.karpathy),
                      "--images", str(tiny_shapes_dataset.images), "--no-progress"])
    assert code == 1
    assert "does not exist" in capsys.readouterr().err


def test_describe_uses_a_trained_checkpoint(cli_run, tiny_shapes_dataset, capsys):
    from PIL import Image

    from describe_aloud.engine.captioners import load_captioner

    out, argv = cli_run
    if not (out / "best.pt").exists():
        assert main.main(argv) == 0
    capsys.readouterr()
    image = tiny_shapes_dataset.images / "test_00030.png"
    assert main.main(["describe", str(image), "--model", str(out / "best.pt"), "--no-ocr", "--json"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    expected = load_captioner(str(out / "best.pt"), device="cpu").caption([Image.open(image)])[0].caption
    assert record["model_id"] == str(out / "best.pt")
    # The describer may tidy a caption (e.g. drop a stuttered word) but it is this model's caption.
    words = record["caption"].lower().rstrip(".").split()
    assert words and set(words) <= set(expected.split())
