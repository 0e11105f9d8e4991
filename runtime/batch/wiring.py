"""Builds the batch service (API side) and the batcher (worker side) from the jobs config."""

from skyrelay.runtime.errors import NotFound


def storage_for(cfg):
    """The object storage the jobs config's `batch.storage` names (runtime/storage)."""
    from skyrelay.runtime.storage import make_storage

    return make_storage(cfg.batch.storage.backend, cfg.batch.storage.options)


def make_service(store, queue, cfg, config, router):
    from skyrelay.runtime.batch.service import BatchService

    return BatchService(store, queue, storage_for(cfg), cfg, config, router)


def batch_service_for(ctx):
    """The AppContext's batch service (the job service's), or 404 when jobs or batch are off."""
    from skyrelay.runtime.jobs.wiring import service_for

    jobs = service_for(ctx)
    svc = getattr(jobs, "batches", None) if jobs is not None else None
    if svc is None:
        raise NotFound("batch work is not enabled: add a `jobs:` section (jobs.batch.enabled) to the config")
    return svc


def make_batcher(store, queue, cfg, config, observe=None, name: str = "batcher"):
    from skyrelay.runtime.batch.batcher import Batcher

    return Batcher(store, queue, storage_for(cfg), cfg, config, observe=observe, name=name)


def has_batch_work(cfg, config) -> bool:
    return cfg.batch.enabled


async def run_tick(store, queue, cfg, config, observe=None, name: str = "batcher") -> dict:
    """One batcher tick as every platform's schedule runs it (the Lambda BATCH_EVENT, Cloud Run's
    POST /batch, the Functions `batcher` timer): {"batch": "disabled"} when this deployment has no
    batch work, else what `Batcher.tick()` did. The batcher is closed after the tick."""
    if config is None or not cfg.batch.enabled:
        return {"batch": "disabled"}
    batcher = make_batcher(store, queue, cfg, config, observe=observe, name=name)
    try:
        return await batcher.tick()
    finally:
        await batcher.close()
