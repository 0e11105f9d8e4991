"""Builds the job service (and workers) from the router config's `jobs:` section."""

from skyrelay.runtime.jobs.config import JobsConfig
from skyrelay.runtime.jobs.service import JobService


def jobs_config(config) -> JobsConfig | None:
    """The `jobs:` section of a RuntimeConfig (runtime/config.py), or None when jobs are not configured."""
    return getattr(config, "jobs", None)


def store_and_queue(cfg: JobsConfig):
    """The store and queue adapters the jobs config names (registered in runtime/stores, runtime/queues)."""
    from skyrelay.runtime.queues import make_queue
    from skyrelay.runtime.stores import make_store

    return make_store(cfg.store), make_queue(cfg.queue, cfg.store)


def build_service(config, router, store=None, queue=None, cfg: JobsConfig | None = None) -> JobService:
    cfg = cfg or jobs_config(config) or JobsConfig()
    if store is None or queue is None:
        made_store, made_queue = store_and_queue(cfg)
        store, queue = store or made_store, queue or made_queue
    svc = JobService(store, queue, cfg, tiers=router.tiers, model_classes=router.model_classes,
                     limiter=router.limiter)
    if cfg.batch.enabled:  # /v1/files, /v1/batches and `mode: batch` jobs (runtime/batch)
        from skyrelay.runtime.batch.wiring import make_service

        svc.batches = make_service(store, queue, cfg, config, router)
    return svc


def service_for(ctx) -> JobService | None:
    """The AppContext's job service: the one a platform attached (`ctx.jobs`), else one built from config."""
    svc = getattr(ctx, "jobs", None)
    if svc is None and jobs_config(ctx.config) is not None:
        svc = ctx.jobs = build_service(ctx.config, ctx.router)
    return svc
