"""`describe-aloud models ...`: the models this app can use, fetched once and then used offline.

    models list                     the catalog: what each model can do, its size, whether it is here
    models list --json              the same as one JSON array
    models download git-base        fetch a model once (progress on stderr; resumes if interrupted)
    models download --all           fetch every catalog model
    models remove git-base          delete a downloaded model and say how much space was freed

A model is a catalog name (`models list`) or a Hugging Face id (`org/name`). This is the only command
allowed to reach the model server (cli/main.py keeps the hub offline for every other command).
Exit codes: 0 done; 1 an error, explained in one sentence on stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Callable, TextIO

from describe_aloud.engine.i18n import _, pgettext
from describe_aloud.engine.invocation import user_command

CAPABILITY_ORDER = ("caption", "detailed", "objects", "ocr", "translate")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models",
        help=_("List, download or remove the image-description models."),
        description=_("The models that describe images. Each is downloaded once into the Hugging Face cache, "
                      "then used without any network connection."),
        epilog=_("Exit codes: 0 done; 1 an error (explained on stderr)."),
    )
    parser.set_defaults(func=_run_help(parser))
    actions = parser.add_subparsers(dest="models_action", metavar="ACTION")

    list_parser = actions.add_parser("list", help=_("Show the models, what they can do and which are downloaded."))
    list_parser.add_argument("--json", action="store_true", help=_("Print a JSON array instead of a table."))
    list_parser.set_defaults(func=run_list)

    download_parser = actions.add_parser(
        "download", help=_("Download models once; an interrupted download resumes."),
        description=_("Download models into the Hugging Face cache. If a download is interrupted, run the "
                      "same command again: it continues where it stopped."),
    )
    download_parser.add_argument("names", nargs="*", metavar="NAME",
                                 help=_("Catalog names (see {command}) or Hugging Face ids (org/name).").format(
                                     command=user_command("models", "list")))
    download_parser.add_argument("--all", action="store_true", help=_("Download every model in the catalog."))
    download_parser.set_defaults(func=run_download)

    remove_parser = actions.add_parser("remove", help=_("Delete a downloaded model to free disk space."))
    remove_parser.add_argument("name", metavar="NAME", help=_("A catalog name or a Hugging Face id."))
    remove_parser.set_defaults(func=run_remove)


def _run_help(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def run(_args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2  # like argparse for a missing argument

    return run


# -------------------------------------------------------------------------------------------- list


def capabilities_text(capabilities) -> str:
    return ", ".join(c for c in CAPABILITY_ORDER if c in capabilities) or "-"


def downloaded_text(status) -> str:
    """yes / no / partly (what an interrupted download left), as read aloud by a screen reader."""
    from describe_aloud.engine.models import format_bytes

    if status.downloaded:
        return pgettext("downloaded", "yes")
    if status.partial_bytes or status.size_on_disk_bytes:
        return _("partly ({size}; download again to resume)").format(size=format_bytes(status.size_on_disk_bytes))
    return pgettext("downloaded", "no")


def status_rows(statuses) -> list[list[str]]:
    """Table rows (header first) for `models list`."""
    from describe_aloud.engine.models import format_bytes

    # Translators: the column headers of `models list` (upper case where the language has it).
    rows = [[_("NAME"), _("HUGGING FACE ID"), _("PARAMS"), _("DOWNLOAD"), _("ON DISK"), _("LICENCE"), _("CAN DO"),
             _("DOWNLOADED")]]
    for status in statuses:
        entry = status.entry
        rows.append([
            status.name,
            status.hf_id,
            f"{entry.params_m}M" if entry else "?",
            format_bytes(entry.size_mb * 1_000_000) if entry else "?",
            format_bytes(status.size_on_disk_bytes) if status.size_on_disk_bytes else "-",
            entry.license if entry else "?",
            capabilities_text(entry.capabilities) if entry else "?",
            downloaded_text(status),
        ])
    return rows


def format_table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def run_list(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from describe_aloud.engine.config import hub_cache_dir
    from describe_aloud.engine.errors import UserFacingError
    from describe_aloud.engine.models import list_models

    out = out or sys.stdout
    try:
        statuses = list_models()
    except UserFacingError as exc:
        print(_("Error: {reason}").format(reason=exc), file=sys.stderr)
        return 1
    if args.json:
        json.dump([s.to_dict() for s in statuses], out, indent=2)
        out.write("\n")
        return 0
    print(format_table(status_rows(statuses)), file=out)
    print("\n" + _("Models are stored in {folder}. Download one with: {command}").format(
        folder=hub_cache_dir(), command=user_command("models", "download", "NAME")), file=out)
    return 0


# ---------------------------------------------------------------------------------------- download


class _ProgressBar:
    """A tqdm bar on stderr (bytes, rate, time left) fed by engine.models.download's callback."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._bar = None

    def __call__(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(
                total=total, initial=done, desc=self._label, unit="B", unit_scale=True, unit_divisor=1000,
                file=sys.stderr, dynamic_ncols=True, mininterval=0.5, leave=True,
            )
            return
        if total != self._bar.total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def run_download(args: argparse.Namespace) -> int:
    from describe_aloud.engine.catalog import CATALOG
    from describe_aloud.engine.errors import UserFacingError
    from describe_aloud.engine.models import download, format_bytes, model_status

    names = [entry.name for entry in CATALOG] if args.all else list(args.names)
    if not names:
        print(_("Error: name the model to download (see `{command}`), or use --all.").format(
            command=user_command("models", "list")), file=sys.stderr)
        return 1
    failures = 0
    for name in names:
        try:
            status = model_status(name)
        except UserFacingError as exc:
            print(_("Error: {reason}").format(reason=exc), file=sys.stderr)
            failures += 1
            continue
        if status.downloaded:
            print(_("{name} is already downloaded ({size}) in {folder}").format(
                name=name, size=format_bytes(status.size_on_disk_bytes), folder=status.snapshot_path))
            continue
        bar = _ProgressBar(name)
        try:
            path = download(name, progress=bar)
        except UserFacingError as exc:
            bar.close()
            print(_("Error: {reason}").format(reason=exc), file=sys.stderr)
            failures += 1
            continue
        except KeyboardInterrupt:
            bar.close()
            print("\n" + _("Stopped. What was downloaded of {name} is kept; run the same command again to "
                           "resume.").format(name=name), file=sys.stderr)
            return 130
        bar.close()
        size = model_status(name).size_on_disk_bytes
        print(_("{name} is downloaded ({size}) in {folder}").format(name=name, size=format_bytes(size), folder=path))
    return 1 if failures else 0


# ------------------------------------------------------------------------------------------ remove


def run_remove(args: argparse.Namespace) -> int:
    from describe_aloud.engine.errors import UserFacingError
    from describe_aloud.engine.models import display_name, format_bytes, remove, resolve_name

    try:
        freed = remove(args.name)
        name = display_name(resolve_name(args.name))
    except UserFacingError as exc:
        print(_("Error: {reason}").format(reason=exc), file=sys.stderr)
        return 1
    print(_("Removed {name}; {size} freed.").format(name=name, size=format_bytes(freed)))
    return 0
