"""Benchmark `batch --ray` against local `batch` on the same images, in the same run.

The default model's architecture (GIT-base) is built at full size with random weights (bench_captioners'
builder; no hub) and every caption is exactly 20 tokens (bench_batch.FixedTokens, sent to the Ray actors
by value), over a generated folder of 1600x1200 JPEGs (bench_batch.make_folder):

- local: engine.batch.BatchRunner (model loaded and warmed before the clock starts, as bench_batch does);
- ray: engine.ray_batch.RayBatchRunner on a local Ray cluster of this machine's cores (started before the
  clock). Two rates: end to end (actor start and model load included) and steady (from the first shard
  filed to the last, the rate a long run approaches).
- --nodes N: a simulated cluster (ray.cluster_utils.Cluster, N worker nodes of 1 CPU on this machine);
  after the first shard one worker node is removed and a fresh one added: the summary shows the work per
  node, and the results still hold every image exactly once.

    .venv/bin/python bench/bench_ray.py                     # 200 images, OCR off, then on
    .venv/bin/python bench/bench_ray.py --images 48 --ocr off
    .venv/bin/python bench/bench_ray.py --nodes 2 --images 48 --ocr off
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from _machine import cpu_line, load_average  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


class FixedFactory:
    """Builds the same fixed-token captioner inside each Ray actor (picklable: a folder path and options)."""

    def __init__(self, model_dir: str, precision: str) -> None:
        self.model_dir, self.precision = model_dir, precision

    def __call__(self):
        import bench_batch

        from describe_aloud.engine.captioners.hf import load_hf_captioner

        captioner = bench_batch.FixedTokens(load_hf_captioner(self.model_dir, precision=self.precision))
        captioner.caption([bench_batch.photo(10_000)])  # warm, as the local describer is
        return captioner


def local_rate(folder: Path, model_dir: Path, args, use_ocr: bool, out: Path) -> float:
    import bench_batch

    from describe_aloud.engine.captioners.hf import load_hf_captioner
    from describe_aloud.engine.describer import Describer

    describer = Describer(bench_batch.FixedTokens(load_hf_captioner(str(model_dir), precision=args.precision)),
                          use_ocr=use_ocr)
    describer.describe(bench_batch.photo(10_000), source="warm-up")
    return bench_batch.batched(folder, describer, args.batch_size, use_ocr, out)


def ray_rate(folder: Path, model_dir: Path, args, use_ocr: bool, out: Path, on_shard=None):
    from describe_aloud.engine.ray_batch import RayBatchOptions, RayBatchRunner

    filed: list[float] = []
    counts: list[int] = []

    def note(shard_id: str) -> None:
        filed.append(time.perf_counter())
        counts.append(json.loads(out.with_name(out.name + ".parts").joinpath("_manifest.jsonl")
                                 .read_text().splitlines()[-1])["images"])
        if on_shard:
            on_shard(shard_id)

    options = RayBatchOptions(input=str(folder), out=str(out), use_ocr=use_ocr, batch_size=args.batch_size,
                              shard_size=args.shard_size, precision=args.precision,
                              captioner_factory=FixedFactory(str(model_dir), args.precision))
    t0 = time.perf_counter()
    summary = RayBatchRunner(options, on_shard=note).run()
    total = time.perf_counter() - t0
    assert summary.described == summary.found and not summary.failed and not summary.stopped, summary.lines()
    steady = sum(counts[1:]) / (filed[-1] - filed[0]) if len(filed) > 2 else float("nan")
    return summary.found / total, steady, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--shard-size", type=int, default=16)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--ocr", choices=("off", "on", "both"), default="both")
    parser.add_argument("--nodes", type=int, default=0, help="simulate a cluster of N worker nodes instead")
    parser.add_argument("--folder", type=Path, help="keep the generated images here")
    args = parser.parse_args(argv)

    import ray
    from bench_batch import make_folder
    from bench_captioners import build_git_base
    import bench_batch

    ray.cloudpickle.register_pickle_by_value(bench_batch)  # workers do not have bench/ on their path

    print(f"CPU: {cpu_line()}; {load_average()}")
    print(f"Ray {ray.__version__}, batch size {args.batch_size}, shard size {args.shard_size}, "
          f"precision {args.precision}")
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        tmp_path = Path(tmp)
        folder = args.folder or tmp_path / "photos"
        paths = make_folder(folder, args.images)
        model_dir = tmp_path / "git-base"
        build_git_base(model_dir)
        print(f"{len(paths)} photos of 1600x1200; GIT-base full size, random weights, 20 tokens per caption")
        if args.nodes:
            return multi_node(folder, model_dir, args, tmp_path)
        t0 = time.perf_counter()
        ray.init(address="local", include_dashboard=False, logging_level="WARNING")
        print(f"local Ray cluster started in {time.perf_counter() - t0:.1f} s (not counted)")
        try:
            for ocr in ([False, True] if args.ocr == "both" else [args.ocr == "on"]):
                tag = "on" if ocr else "off"
                local = local_rate(folder, model_dir, args, ocr, tmp_path / f"local-{tag}.csv")
                end_to_end, steady, _ = ray_rate(folder, model_dir, args, ocr, tmp_path / f"ray-{tag}.csv")
                print(f"OCR {tag}: local batch {local:6.2f} images/s | Ray end to end {end_to_end:6.2f} "
                      f"({end_to_end / local:.2f}x) | Ray steady {steady:6.2f} ({steady / local:.2f}x)")
        finally:
            ray.shutdown()
    return 0


def multi_node(folder: Path, model_dir: Path, args, tmp_path: Path) -> int:
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    workers = [cluster.add_node(num_cpus=1) for _ in range(args.nodes)]
    ray.init(address=cluster.address, logging_level="WARNING")
    cluster.wait_for_nodes()
    print(f"simulated cluster: a head with no CPUs + {args.nodes} worker nodes of 1 CPU")
    replaced = []

    def replace_a_node(shard_id: str) -> None:
        if not replaced:
            cluster.remove_node(workers[-1])  # its actor and its tasks die with it
            replaced.append(cluster.add_node(num_cpus=1))
            print(f"after shard {shard_id}: one worker node removed, a fresh one added")

    try:
        out = tmp_path / "nodes.jsonl"
        end_to_end, steady, summary = ray_rate(folder, model_dir, args, args.ocr == "on", out, replace_a_node)
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        paths = [r["path"] for r in rows]
        print(f"{end_to_end:.2f} images/s end to end, {steady:.2f} steady; images per node: {summary.per_node}")
        print(f"results: {len(paths)} rows, {len(set(paths))} distinct images of {summary.found}: "
              f"{'each exactly once' if len(paths) == len(set(paths)) == summary.found else 'NOT exactly once'}")
    finally:
        ray.shutdown()
        cluster.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
