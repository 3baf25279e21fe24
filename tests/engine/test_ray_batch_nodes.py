"""A simulated multi-node Ray cluster on this machine (ray.cluster_utils.Cluster): the work spreads over
the nodes, and when a node is removed mid-run its work is done again elsewhere, each image exactly once."""
from __future__ import annotations

import json
import os

import pytest

from describe_aloud.engine.ray_batch import RayBatchOptions, RayBatchRunner
from tests.fixtures.paced_captioner import PacedFactory
from tests.fixtures.photo_folder import make_many_images

# Three raylets and their workers on one machine: minutes, not seconds, when the machine is busy.
pytestmark = pytest.mark.timeout(1200)


@pytest.fixture(scope="module")
def two_nodes():
    """A head that runs nothing (0 CPUs) and two worker nodes of 1 CPU each."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    ray.init(address=cluster.address, logging_level="WARNING")
    import tests.fixtures.paced_captioner

    ray.cloudpickle.register_pickle_by_value(tests.fixtures.paced_captioner)  # workers lack tests/ on their path
    cluster.wait_for_nodes()
    try:
        yield cluster, workers
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_work_spreads_over_nodes_and_a_removed_nodes_work_is_redone(two_nodes, tiny_git_dir, tmp_path):
    cluster, workers = two_nodes
    folder = tmp_path / "photos"
    names = make_many_images(folder, 60)
    replaced = []

    def remove_a_node(shard_id: str) -> None:
        if not replaced:
            cluster.remove_node(workers[-1])  # its actor and whatever it held die with it
            replaced.append(cluster.add_node(num_cpus=1))

    out = tmp_path / "results.jsonl"
    options = RayBatchOptions(input=str(folder), out=str(out), model=str(tiny_git_dir), use_ocr=False,
                              shard_size=4, batch_size=2,
                              # a full-size captioner's cost per image on a CPU: see paced_captioner
                              captioner_factory=PacedFactory(str(tiny_git_dir), seconds_per_image=0.3))
    summary = RayBatchRunner(options, on_shard=remove_a_node).run()
    assert replaced
    assert summary.run_error is None and not summary.stopped, summary.lines()
    assert len(summary.per_node) >= 2, summary.per_node  # more than one node described images
    paths = [json.loads(line)["path"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert paths == sorted(names)  # each image exactly once, in input order
