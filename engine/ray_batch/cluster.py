"""Connecting to Ray and sizing the pipeline to the cluster it finds.

Ray is an optional extra: `import_ray()` says what to install when it is missing. Usage statistics are
switched off before Ray is imported (this program sends nothing anywhere), and a local cluster starts
without its dashboard.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.i18n import _

READ_CPUS = 0.25  # reading + decoding tasks: logical share, so they always fit beside the actors
OCR_CPUS = 0.5
MAX_RETRIES = 3  # a task or actor that keeps dying fails the run after this many tries (no endless loop)


class RayNotInstalled(UserFacingError):
    exit_code = 2


def import_ray():
    """The `ray` module (with Ray Data), or RayNotInstalled naming the install command."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
        import ray.data  # noqa: F401 - the [data] extra (pyarrow, pandas) comes with it
    except ImportError:
        raise RayNotInstalled(_(
            "--ray needs Ray, which is not installed. Install it with: {command}"
        ).format(command="pip install 'describe-aloud[ray]'")) from None
    return ray


def connect(ray, address: str | None, *, num_cpus: int | None = None) -> bool:
    """Start a local cluster (address None / "local") or join one ("auto", "ray://host:10001", "host:6379").
    Returns True when this call started the connection (and so must shut it down)."""
    if ray.is_initialized():
        return False
    # Workers load models from the model store only, like the app: never from a hub.
    runtime_env = {"env_vars": {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}}
    if not address or address == "local":
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, logging_level="WARNING",
                 runtime_env=runtime_env)
    else:
        try:
            ray.init(address=address, logging_level="WARNING", runtime_env=runtime_env)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise UserFacingError(_("The Ray cluster at {address!r} cannot be reached: {reason}").format(
                address=address, reason=exc)) from None
    return True


@dataclass
class Plan:
    """How many actors of each kind, with what resources (decided from the live cluster)."""

    nodes: int
    actors: int
    actor_cpus: float
    actor_gpus: float
    threads: int
    device: str

    def describe(self) -> str:
        where = _("{n} GPU actors").format(n=self.actors) if self.actor_gpus else \
            _("{n} CPU actors of {cpus:g} CPUs").format(n=self.actors, cpus=self.actor_cpus)
        return _("Ray cluster: {nodes} nodes; {where}.").format(nodes=self.nodes, where=where)


def plan_for(ray, *, concurrency: int | None, use_ocr: bool, device: str = "auto") -> Plan:
    """One describe actor per GPU, or per node on a CPU cluster (using the node's CPUs but what the read
    tasks and the OCR actor need), unless `concurrency` says how many."""
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    gpus = sum(n.get("Resources", {}).get("GPU", 0) for n in nodes)
    if gpus and device in ("auto", "cuda"):
        actors = concurrency or int(gpus)
        return Plan(len(nodes), actors, 1.0, 1.0, 0, "cuda")
    workers = [n for n in nodes if n.get("Resources", {}).get("CPU", 0) > 0]  # a head may have none
    node_cpus = min((n["Resources"]["CPU"] for n in workers), default=1)
    actors = concurrency or max(1, len(workers))
    per_node = max(1, math.ceil(actors / max(1, len(workers))))
    spare = node_cpus - READ_CPUS - (OCR_CPUS * per_node if use_ocr else 0)
    actor_cpus = max(0.5, round(spare / per_node, 2))
    return Plan(len(workers), actors, actor_cpus, 0.0, max(1, math.ceil(actor_cpus)),
                "cpu" if device == "auto" else device)
