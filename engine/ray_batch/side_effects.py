"""Sidecars and in-file alt text for a Ray batch, written by the driver with the same functions as local
batch (engine.metadata, engine.outputs), for the images it can reach as local files.

A shard's side effects are written after its records are filed and before it is listed as finished, so a
killed driver redoes them with the shard (our own sidecars are replaced, never duplicated). Images on
remote storage (s3://...) have no sidecar or metadata written: that is reported once in the summary.
"""
from __future__ import annotations

import logging
from pathlib import Path

from describe_aloud.engine.i18n import _

log = logging.getLogger(__name__)


class SideEffects:
    def __init__(self, options, lock_journal, summary) -> None:
        self.sidecar = options.sidecar
        self.write_metadata = options.write_metadata
        self.replace_alt_text = getattr(options, "replace_alt_text", False)
        self.journal = lock_journal  # holds the hashes of the text sidecars we wrote
        self.summary = summary
        self._remote_reported = False

    def apply(self, shard, records: list[dict]) -> None:
        if not (self.sidecar or self.write_metadata):
            return
        for image, record in zip(shard.images, records):
            if record["status"] != "described" or not record["alt_text"]:
                continue
            if "://" in image.source:
                if not self._remote_reported:
                    self._remote_reported = True
                    self.summary.output_problems.append(_(
                        "Sidecars and metadata are only written for images on this computer's disks; "
                        "the images on remote storage have their alt text in the results only."))
                continue
            self._one(Path(image.source), image.rel, record["alt_text"])

    def _one(self, path: Path, rel: str, alt_text: str) -> None:
        from describe_aloud.engine.metadata import MetadataResult, write_alt_text, write_xmp_sidecar
        from describe_aloud.engine.metadata_formats.existing import record_before_writing
        from describe_aloud.engine.outputs import write_text_sidecar

        summary = self.summary
        if self.sidecar:
            if self.sidecar == "xmp":
                result = write_xmp_sidecar(path, alt_text)
                status, note = result.status, result.reason
            else:
                status, note = write_text_sidecar(path, alt_text, self.journal)
            if status == "written":
                summary.sidecars_written += 1
            else:
                summary.sidecar_problems.append((rel, note))
        if self.write_metadata:
            try:
                ours = record_before_writing(self.journal, path, alt_text)
                result = write_alt_text(path, alt_text, ours=ours, replace_existing=self.replace_alt_text,
                                        within=path.parent)
            except Exception as exc:  # noqa: BLE001 - one odd file must not stop the run; it is reported
                log.exception("writing metadata into %s failed", rel)
                result = MetadataResult(str(path), "failed", _("left untouched: {name__}: {reason}").format(
                    name__=type(exc).__name__, reason=exc))
            if result.ok:
                summary.metadata_written += 1
            else:
                summary.metadata_problems.append((rel, result.reason))
