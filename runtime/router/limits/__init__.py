"""Per-tenant limits by tier: RPM, TPM (reserve then refund) and concurrent streams.

`make_limiter(config)` returns the backend named in the config. Every backend does one atomic
operation per request to acquire and one to settle.
"""

from skyrelay.runtime.router.limits.base import (
    Limiter,
    Reservation,
    check_request,
    effective_max_tokens,
    estimate_prompt,
    reserve_for,
)
from skyrelay.runtime.router.limits.memory import MemoryLimiter


def make_limiter(cfg) -> Limiter:
    if cfg.backend == "sqlite":
        from skyrelay.runtime.router.limits.sqlite import SqliteLimiter

        return SqliteLimiter(cfg.path)
    if cfg.backend == "redis":
        from skyrelay.runtime.router.limits.redis import RedisLimiter

        return RedisLimiter.from_url(cfg.redis_url, prefix=cfg.prefix)
    if cfg.backend == "dynamodb":
        # The job table AsyncJobs deploys (counters under pk=LIMIT#<tenant>); on Lambda, bootstrap
        # sets `table` from the deployment's variables.
        from skyrelay.runtime.router.limits.dynamodb import DynamoDbLimiter

        if not getattr(cfg, "table", None):
            raise ValueError("limiter.table: required for the dynamodb backend")
        return DynamoDbLimiter(cfg.table, endpoint_url=getattr(cfg, "endpoint_url", None),
                               region=getattr(cfg, "region", None))
    if cfg.backend == "cosmos":
        # The job store's Cosmos container (type=limit documents); on Azure Functions, bootstrap sets
        # the endpoint, database and container from the deployment's variables.
        from skyrelay.runtime.router.limits.cosmos import CosmosLimiter

        for name in ("cosmos_endpoint", "cosmos_database", "cosmos_container"):
            if not getattr(cfg, name, None):
                raise ValueError(f"limiter.{name}: required for the cosmos backend")
        return CosmosLimiter(cfg.cosmos_endpoint, cfg.cosmos_database, cfg.cosmos_container,
                             client_id=cfg.client_id, emulator_key=cfg.cosmos_emulator_key)
    if cfg.backend == "firestore":
        # The job store's Firestore collection (type=limit documents); on Cloud Run, bootstrap sets the
        # project, collection and database from the deployment's variables.
        from skyrelay.runtime.router.limits.firestore import FirestoreLimiter

        for name in ("firestore_project", "firestore_collection"):
            if not getattr(cfg, name, None):
                raise ValueError(f"limiter.{name}: required for the firestore backend")
        return FirestoreLimiter(cfg.firestore_project, cfg.firestore_collection, cfg.firestore_database)
    return MemoryLimiter()


__all__ = ["Limiter", "MemoryLimiter", "Reservation", "check_request", "effective_max_tokens", "estimate_prompt", "make_limiter", "reserve_for"]
