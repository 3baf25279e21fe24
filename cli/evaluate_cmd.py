"""`python main.py evaluate`: score any captioner on a caption file (BLEU-1..4, METEOR, ROUGE-L, CIDEr-D).

    evaluate --model run/best.pt --data dataset_flickr8k.json --images Flicker8k_Dataset/
    evaluate --model git-base --data captions_val2017.json --images val2017/ --out results.json

Exit codes: 0 scored; 1 bad input; 2 the model is not downloaded.
"""
from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score a captioner on a caption file (BLEU, METEOR, ROUGE-L, CIDEr-D)",
        description="Caption the images of a COCO-style or Karpathy caption file with any captioner (a catalog "
        "name, a Hugging Face id, a model folder or a checkpoint made by train) and score the captions. "
        "METEOR needs Java.",
    )
    parser.add_argument("--model", required=True, metavar="NAME_OR_CHECKPOINT", help="the captioner to score")
    parser.add_argument("--data", required=True, metavar="CAPTIONS.json", help="caption file")
    parser.add_argument("--images", required=True, metavar="DIR", help="folder holding the images")
    parser.add_argument("--split", choices=("train", "val", "test", "all"),
                        help="which images (default: test when the file has splits, else all)")
    parser.add_argument("--beam", type=int, metavar="N", help="beam size (for models that have one)")
    parser.add_argument("--out", metavar="RESULTS.json", help="write scores and per-image captions as JSON")
    parser.add_argument("--max-images", type=int, metavar="N", help="score only the first N images")
    parser.add_argument("--batch-size", type=int, default=8, help="images per model call (default 8)")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16", "int8"), default="auto")
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda ...")
    parser.add_argument("--no-meteor", action="store_true", help="skip METEOR (it starts a Java process)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
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
        print(f"Per-image captions and scores written to {args.out}.")
    return 0
