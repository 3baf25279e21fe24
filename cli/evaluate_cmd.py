"""`describe-aloud evaluate`: score any captioner on a caption file (BLEU-1..4, METEOR, ROUGE-L, CIDEr-D).

    evaluate --model run/best.pt --data dataset_flickr8k.json --images Flicker8k_Dataset/
    evaluate --model git-base --data captions_val2017.json --images val2017/ --out results.json

Exit codes: 0 scored; 1 bad input; 2 the model is not downloaded.
"""
from __future__ import annotations

import argparse
import sys

from describe_aloud.cli.common import add_device_argument, add_model_arguments, add_progress_argument
from describe_aloud.engine.i18n import N_, _


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help=_("Score a captioner on a caption file (BLEU, METEOR, ROUGE-L, CIDEr-D)."),
        description=_("Caption the images of a COCO-style or Karpathy caption file with any captioner (a "
                      "catalog name, a Hugging Face id, a model folder or a checkpoint made by train) and score "
                      "the captions. METEOR needs Java."),
    )
    add_model_arguments(parser, model_required=True, model_help=N_(
        "The captioner to score: a catalog name, a Hugging Face id, a model folder or a checkpoint made by "
        "the train command."))
    parser.add_argument("--data", required=True, metavar="CAPTIONS.json", help=_("The caption file."))
    parser.add_argument("--images", required=True, metavar="DIR", help=_("The folder holding the images."))
    parser.add_argument("--split", choices=("train", "val", "test", "all"),
                        help=_("Which images to score (default: test when the file has splits, else all)."))
    parser.add_argument("--beam", type=int, metavar="N", help=_("The beam size, for models that have one."))
    parser.add_argument("--out", metavar="RESULTS.json",
                        help=_("Write the scores and each image's captions to this JSON file."))
    parser.add_argument("--max-images", type=int, metavar="N", help=_("Score only the first N images."))
    parser.add_argument("--batch-size", type=int, default=8, metavar="N",
                        help=_("Images per model call (default 8)."))
    add_device_argument(parser)
    parser.add_argument("--no-meteor", action="store_true",
                        help=_("Skip METEOR, which starts a Java process."))
    add_progress_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from describe_aloud.engine.errors import UserFacingError
    from describe_aloud.engine.training.evaluate import evaluate, format_table, write_json

    try:
        result = evaluate(
            args.model, args.data, args.images, split=args.split, beam=args.beam, batch_size=args.batch_size,
            max_images=args.max_images, precision=args.precision, device=args.device,
            with_meteor=not args.no_meteor, progress=not args.no_progress,
            log=lambda message: print(message, file=sys.stderr),
        )
    except UserFacingError as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    print(format_table(result))
    if args.out:
        write_json(result, args.out)
        print(_("Per-image captions and scores written to {out}.").format(out=args.out))
    return 0
