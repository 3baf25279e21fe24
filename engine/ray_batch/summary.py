"""What a Ray batch did, as sentences for the console (the same shape as engine.batch.BatchSummary's)."""
from __future__ import annotations

from dataclasses import dataclass, field

from describe_aloud.engine.batch_types import outcome_lines, problem_lines
from describe_aloud.engine.text_safety import for_terminal
from describe_aloud.engine.i18n import _, ngettext


@dataclass
class RaySummary:
    input: str
    found: int = 0
    described: int = 0
    skipped: int = 0  # in shards finished by an earlier run
    unfinished: int = 0  # in shards not finished when this run ended
    failed: list[tuple[str, str]] = field(default_factory=list)
    metadata_written: int = 0
    metadata_problems: list[tuple[str, str]] = field(default_factory=list)
    sidecars_written: int = 0
    sidecar_problems: list[tuple[str, str]] = field(default_factory=list)
    output_problems: list[str] = field(default_factory=list)
    run_error: str | None = None
    out: str | None = None
    run_dir: str | None = None
    interrupted: bool = False
    elapsed: float = 0.0
    work_seconds: float = 0.0  # from the first image sent to the cluster to the last one filed
    per_node: dict[str, int] = field(default_factory=dict)  # images described on each node (ID prefix)

    def count(self, records: list[dict]) -> None:
        for record in records:
            if record["status"] == "described":
                self.described += 1
            else:
                self.failed.append((record["path"], record["error"] or _("unknown error")))

    @property
    def rate(self) -> float:
        done = self.described + len(self.failed)
        return done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def stopped(self) -> bool:
        return self.interrupted or self.run_error is not None or self.unfinished > 0

    def lines(self) -> list[str]:
        head = _("Stopped early. ") if self.stopped else ""
        lines = [head + ngettext(
            "{found} image found: {described} described, {skipped} already done (skipped), {failed} failed.",
            "{found} images found: {described} described, {skipped} already done (skipped), {failed} failed.",
            self.found).format(found=self.found, described=self.described, skipped=self.skipped,
                               failed=len(self.failed))]
        if self.described or self.failed:
            lines.append(_("{rate:.2f} images per second over {seconds:.0f} s.").format(
                rate=self.rate, seconds=self.elapsed))
        if len(self.per_node) > 1:
            lines.append(_("Images per node: {counts}.").format(
                counts=", ".join(f"{node} {n}" for node, n in sorted(self.per_node.items()))))
        if self.run_error:
            lines.append(self.run_error)
        lines.extend(outcome_lines(self.failed, self.metadata_written, self.metadata_problems,
                                   self.sidecars_written, self.sidecar_problems))
        lines.extend(self.output_problems)
        if self.out:
            lines.append(_("Results: {path}").format(path=self.out))
        if self.run_dir and self.run_dir != self.out:
            lines.append(_("Finished shards: {path}").format(path=self.run_dir))
        if self.stopped:
            lines.append(ngettext("{n} image is not done yet. ", "{n} images are not done yet. ",
                                  self.unfinished).format(n=self.unfinished)
                         + _("Run the same command again to continue where it stopped."))
        return [for_terminal(line, keep_newlines=False) for line in lines]  # file names: shown, never obeyed

    def problem_lines(self) -> list[str]:
        """Those of `lines()` that say what failed or was not written."""
        return problem_lines(self.failed, self.metadata_problems, self.sidecar_problems)
