"""`describe-aloud batch DIR`: describe every image in a folder, resumably, with alt text outputs.

    batch Photos --recursive --out alt.csv           a CSV (or .jsonl / .json) of every image
    batch Photos --sidecar xmp                       IMG_1.jpg.xmp next to each image
    batch Photos --write-metadata                    alt text inside the JPEG / PNG / WebP / TIFF files
    batch Photos --detail --model florence-2-base    detailed descriptions

Stop it any way (Ctrl+C, closing the terminal, a power cut) and run the same command again: it goes on
where it stopped. Without --out, --sidecar or --write-metadata the results go to
DIR/describe-aloud-results.csv.

Exit codes: 0 every image described; 1 some files failed (listed in the summary); 2 the folder does not
exist, the model is not downloaded, or an output file exists that Describe Aloud did not write; 130 stopped
(Ctrl+C, SIGTERM).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from describe_aloud.cli.batch_ray import add_ray_arguments
from describe_aloud.cli.common import (
    add_description_arguments,
    add_model_arguments,
    add_progress_argument,
    chosen_model,
    print_summary,
)
from describe_aloud.engine.i18n import _

if TYPE_CHECKING:
    from describe_aloud.engine.batch import BatchOptions

log = logging.getLogger(__name__)

DEFAULT_RESULTS_NAME = "describe-aloud-results.csv"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch",
        help=_("Describe every image in a folder, resumably, and write alt text files or metadata."),
        description=_("Describe every image in a folder (JPEG, PNG, WebP, BMP, GIF, TIFF; HEIC when "
                      "pillow-heif is installed). Resumable: run the same command again after stopping it."),
        epilog=_("Exit codes: 0 all described; 1 some files failed (see the summary); 2 the folder does not "
                 "exist, the model is not downloaded or an output file exists that was not written by "
                 "Describe Aloud; 130 stopped (Ctrl+C)."),
    )
    parser.add_argument("folder", metavar="DIR", help=_("The folder of images."))
    parser.add_argument("--recursive", "-r", action="store_true", help=_("Include the sub-folders."))
    parser.add_argument("--out", metavar="RESULTS",
                        help=_("The results file: .csv, .jsonl or .json (default, when no other output is "
                               "asked for: DIR/{name}).").format(name=DEFAULT_RESULTS_NAME))
    parser.add_argument("--sidecar", choices=("txt", "xmp"),
                        help=_("Write IMG.jpg.txt (alt text) or IMG.jpg.xmp (an XMP sidecar) next to each "
                               "image."))
    parser.add_argument("--write-metadata", action="store_true",
                        help=_("Write the alt text into the image files (JPEG, PNG, WebP, TIFF) without "
                               "re-encoding them."))
    parser.add_argument("--replace-alt-text", action="store_true",
                        help=_("With --write-metadata: also replace alt text that the image files already "
                               "hold and that Describe Aloud did not write (by default it is kept)."))
    add_model_arguments(parser)
    add_description_arguments(parser)
    parser.add_argument("--batch-size", type=int, metavar="N",
                        help=_("Images per model call (default 4 on a CPU, 16 on a GPU)."))
    parser.add_argument("--hash", action="store_true",
                        help=_("Also compare file contents (SHA-256) to decide what changed since the last "
                               "run."))
    add_progress_argument(parser)
    add_ray_arguments(parser)
    parser.set_defaults(func=run)


def options_from_args(args: argparse.Namespace) -> BatchOptions:
    from describe_aloud.engine.batch import BatchOptions

    out = args.out
    if out is None and not args.sidecar and not args.write_metadata:
        out = str(Path(args.folder) / DEFAULT_RESULTS_NAME)
    return BatchOptions(
        folder=args.folder,
        recursive=args.recursive,
        out=out,
        sidecar=args.sidecar,
        write_metadata=args.write_metadata,
        replace_alt_text=args.replace_alt_text,
        model=chosen_model(args),
        detail=args.detail,
        batch_size=args.batch_size,
        hash_files=args.hash,
        precision=args.precision,
        use_ocr=not args.no_ocr,
        translate_text=args.translate_text,
    )


class _ProgressBar:
    """tqdm on stderr, fed by BatchRunner's progress callback (same thread)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None

    def __call__(self, progress) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if progress.total == 0:
                return
            from tqdm import tqdm

            self.bar = tqdm(total=progress.total, unit="img", file=sys.stderr, dynamic_ncols=True,
                            desc=_("Describing"))
        self.bar.update(progress.done - self.bar.n)
        if progress.current:  # a file's name: shown, never obeyed (escapes, newlines, undecodable bytes)
            from describe_aloud.engine.text_safety import printable_path

            self.bar.set_postfix_str(printable_path(progress.current)[-40:], refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _stop_cleanly_on_terminate() -> None:
    """SIGTERM / SIGHUP (closing the terminal, `kill`) stop like Ctrl+C: the results file is written from
    the journal on the way out. (SIGKILL cannot be caught; the journal still has every finished batch.)"""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            try:
                signal.signal(sig, interrupt)
            except (ValueError, OSError):  # not the main thread, or not allowed here
                pass


def run(args: argparse.Namespace) -> int:
    from describe_aloud.engine.batch import BatchRunner
    from describe_aloud.engine.errors import UserFacingError

    if args.batch_size is not None and args.batch_size < 1:
        print(_("--batch-size must be 1 or more."), file=sys.stderr)
        return 2
    # Only our own bar: transformers' "Loading weights" bars (the translator) would interleave with it.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if getattr(args, "ray", None) is not None:
        from describe_aloud.cli.batch_ray import run_ray

        _stop_cleanly_on_terminate()
        return run_ray(args, _ProgressBar(enabled=not args.no_progress))
    options = options_from_args(args)
    _stop_cleanly_on_terminate()
    bar = _ProgressBar(enabled=not args.no_progress)
    runner = BatchRunner(options, on_progress=bar, on_status=lambda m: log.info(m))
    try:
        summary = runner.run()
    except UserFacingError as exc:
        bar.close()
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:  # before the run loop started (scanning, loading the model)
        bar.close()
        print(_("Stopped before anything was described."), file=sys.stderr)
        return 130
    bar.close()
    print_summary(summary)
    if summary.interrupted or summary.cancelled:
        return 130
    if (summary.failed or summary.metadata_problems or summary.sidecar_problems or summary.output_problems
            or summary.left_out):  # HEIC photos left out: not everything asked was done
        return 1
    return 0
