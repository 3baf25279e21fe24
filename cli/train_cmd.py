"""`describe-aloud train`: train the seed captioner (CNN encoder + attention LSTM) on your own captions.

    train --data captions.json --images DIR --out run/                   start a run
    train --data captions.json --images DIR --out run/ --resume          continue an interrupted run
    train ... --config my.toml                                           options from a JSON/TOML file
    train ... --encoder resnet101 --unfreeze-epoch 5 --unfreeze-blocks 2 --encoder-lr 1e-4

Command-line options override the config file, which overrides the defaults; the resolved configuration
is written to <out>/config.json. Exit codes: 0 done; 1 bad input or training failed; 130 interrupted
(resume with --resume).
"""
from __future__ import annotations

import argparse
import sys

from describe_aloud.cli.common import add_device_argument, add_progress_argument
from describe_aloud.engine.i18n import _


def register(subparsers: argparse._SubParsersAction) -> None:
    from describe_aloud.engine.training.config import ENCODERS  # light: no torch

    parser = subparsers.add_parser(
        "train",
        help=_("Train the seed captioner on a COCO-style or Karpathy caption file."),
        description=_("Train the seeds' own captioner (a CNN encoder with an attention LSTM decoder) by "
                      "transfer learning on a COCO-style caption file or a Karpathy split file (COCO, Flickr8k, "
                      "Flickr30k). Keeps <out>/best.pt (best validation score) and <out>/last.pt (to resume)."),
    )
    parser.add_argument("--data", metavar="CAPTIONS.json",
                        help=_("The caption file (COCO-style or a Karpathy split)."))
    parser.add_argument("--images", metavar="DIR",
                        help=_("The folder holding the images named in the caption file."))
    parser.add_argument("--out", metavar="DIR", help=_("The run folder (default: run)."))
    parser.add_argument("--config", metavar="FILE", help=_("A JSON or TOML file of training options."))
    parser.add_argument("--resume", action="store_true",
                        help=_("Continue the run in --out from its last.pt."))
    parser.add_argument("--epochs", type=int, help=_("The number of epochs (default 20)."))
    parser.add_argument("--batch-size", type=int, help=_("Images per batch (default 32)."))
    parser.add_argument("--encoder", choices=ENCODERS, help=_("The torchvision backbone (default resnet50)."))
    parser.add_argument("--pretrained", action=argparse.BooleanOptionalAction, default=None,
                        help=_("Start the encoder from ImageNet weights (the default; torchvision downloads "
                               "them once)."))
    parser.add_argument("--image-size", type=int, help=_("The square image size in pixels (default 224)."))
    parser.add_argument("--grid-size", type=int, help=_("The attention grid is N x N (default 14)."))
    parser.add_argument("--unfreeze-epoch", type=int, metavar="E",
                        help=_("From this epoch (counted from 1) the top encoder blocks train too (default: "
                               "never)."))
    parser.add_argument("--unfreeze-blocks", type=int, metavar="K",
                        help=_("How many top encoder blocks unfreeze (-1 for all; default 2)."))
    parser.add_argument("--encoder-lr", type=float, metavar="LR",
                        help=_("The learning rate of the unfrozen blocks (default 1e-4)."))
    parser.add_argument("--decoder-lr", type=float, metavar="LR",
                        help=_("The learning rate of the decoder (default 4e-4)."))
    parser.add_argument("--beam", type=int, metavar="N",
                        help=_("The beam size for validation and the model's default (default 3)."))
    parser.add_argument("--min-word-count", type=int, metavar="N",
                        help=_("Words seen fewer times become <unk> (default 5)."))
    parser.add_argument("--seed", type=int, help=_("The random seed (default 0)."))
    add_device_argument(parser, default=None)
    parser.add_argument("--workers", type=int, dest="num_workers", metavar="N",
                        help=_("The number of image-loading processes (default 2)."))
    add_progress_argument(parser)
    parser.set_defaults(func=run)


def overrides_from_args(args: argparse.Namespace) -> dict:
    """Command-line options as config overrides (None = not given)."""
    return {
        "data": args.data, "images": args.images, "out": args.out,
        "epochs": args.epochs, "batch_size": args.batch_size, "pretrained": args.pretrained,
        "image_size": args.image_size, "unfreeze_epoch": args.unfreeze_epoch,
        "unfreeze_blocks": args.unfreeze_blocks, "encoder_lr": args.encoder_lr, "decoder_lr": args.decoder_lr,
        "beam": args.beam, "min_word_count": args.min_word_count, "seed": args.seed, "device": args.device,
        "num_workers": args.num_workers,
        "model": {"encoder": args.encoder, "grid_size": args.grid_size},
    }


def run(args: argparse.Namespace) -> int:
    from describe_aloud.engine.errors import UserFacingError
    from describe_aloud.engine.training.config import load_config
    from describe_aloud.engine.training.train import config_for_resume, train

    try:
        if args.resume:
            out = args.out
            if out is None and args.config:
                out = load_config(args.config).out
            config, ignored = config_for_resume(out or "run", overrides_from_args(args))
            if ignored:
                print(_("Note: resuming keeps the run's saved settings; ignored: {items}.").format(items=', '.join(ignored)), file=sys.stderr)
        else:
            config = load_config(args.config, overrides_from_args(args))
            if not config.data or not config.images:
                print(_("Give the caption file and the image folder: --data CAPTIONS.json --images DIR "
                      "(or data / images in --config)."), file=sys.stderr)
                return 1
        result = train(config, resume=args.resume, progress=not args.no_progress,
                       log=lambda message: print(message, flush=True))
    except UserFacingError as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(_("\nInterrupted. The last finished epoch is saved; continue with --resume."), file=sys.stderr)
        return 130
    if result.best_epoch:
        print(_("Best checkpoint: {value} (epoch {best_epoch}, validation {best_metric} {best_score:.4f}).").format(value=result.out / 'best.pt', best_epoch=result.best_epoch, best_metric=config.best_metric, best_score=result.best_score))
    return 0
