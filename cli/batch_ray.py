"""`describe-aloud batch INPUT --ray [ADDRESS]`: the batch command on a Ray cluster (engine.ray_batch).

    batch Photos --ray                                  a local Ray cluster on this computer
    batch Photos --ray auto --out alt.jsonl             the cluster this machine belongs to
    batch paths.txt --ray ray://head:10001              a list of paths (or URIs), one per line
    batch 's3://archive/photos/**/*.jpg' --ray auto --out alt.parquet     Parquet shards for large runs

INPUT may be a folder, a text file of paths, or a glob on any storage pyarrow reads. Stopping it (Ctrl+C,
a killed driver) keeps every finished shard; the same command goes on with the rest. Exit codes as for
local batch; 2 also when Ray is not installed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from describe_aloud.cli.common import print_summary
from describe_aloud.engine.i18n import _

DEFAULT_RESULTS_NAME = "describe-aloud-results.csv"


def add_ray_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(_("on a Ray cluster (pip install 'describe-aloud[ray]')"))
    group.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                       help=_("Run on Ray: no ADDRESS starts a local cluster; 'auto' or 'ray://host:10001' "
                              "joins one. DIR may then also be a .txt list of paths or a glob such as "
                              "'s3://bucket/photos/**/*.jpg'. Put --ray after DIR."))
    group.add_argument("--concurrency", type=int, metavar="N",
                       help=_("Model actors on the cluster (default: one per GPU, or one per node)."))
    group.add_argument("--shard-size", type=int, default=64, metavar="N",
                       help=_("Images per shard, the unit that is saved as finished (default 64)."))


def options_from_args(args: argparse.Namespace):
    from describe_aloud.cli.common import chosen_model
    from describe_aloud.engine.ray_batch import RayBatchOptions

    out = args.out
    if out is None:
        base = Path(args.folder) if Path(args.folder).is_dir() else Path.cwd()
        out = str(base / DEFAULT_RESULTS_NAME)
    return RayBatchOptions(
        input=args.folder, out=out, address=None if args.ray == "local" else args.ray,
        recursive=args.recursive, sidecar=args.sidecar, write_metadata=args.write_metadata,
        replace_alt_text=args.replace_alt_text,
        model=chosen_model(args), detail=args.detail, batch_size=args.batch_size, concurrency=args.concurrency,
        shard_size=args.shard_size, precision=args.precision, use_ocr=not args.no_ocr,
    )


def run_ray(args: argparse.Namespace, progress_bar) -> int:
    from describe_aloud.engine.errors import UserFacingError
    from describe_aloud.engine.ray_batch import RayBatchRunner

    for name in ("concurrency", "shard_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            print(_("--{option} must be 1 or more.").format(option=name.replace("_", "-")), file=sys.stderr)
            return 2
    runner = RayBatchRunner(options_from_args(args), on_progress=progress_bar,
                            on_status=lambda message: print(message, file=sys.stderr))
    try:
        summary = runner.run()
    except UserFacingError as exc:
        progress_bar.close()
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        progress_bar.close()
        print(_("Stopped before anything was described."), file=sys.stderr)
        return 130
    progress_bar.close()
    print_summary(summary)
    if summary.interrupted:
        return 130
    if summary.failed or summary.run_error or summary.unfinished or summary.metadata_problems \
            or summary.sidecar_problems or summary.output_problems:
        return 1
    return 0
