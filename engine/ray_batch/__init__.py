"""Batch on a Ray cluster (the optional `ray` extra): the same records as engine.batch, many machines.

Public names: RayBatchOptions, RayBatchRunner, RaySummary, RayNotInstalled, import_ray. See driver.py for
the pipeline, manifest.py for how "each image exactly once" is kept, stages.py for what runs on workers.
Importing this package does not import Ray.
"""
from describe_aloud.engine.ray_batch.cluster import RayNotInstalled, import_ray
from describe_aloud.engine.ray_batch.driver import RayBatchOptions, RayBatchRunner
from describe_aloud.engine.ray_batch.summary import RaySummary

__all__ = ["RayBatchOptions", "RayBatchRunner", "RaySummary", "RayNotInstalled", "import_ray"]
