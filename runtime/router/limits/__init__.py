"""Per-tenant limits by tier: RPM, TPM (reserve then refund) and concurrent streams.

`make_limiter(config)` returns the backend named in the config. Every backend does one atomic
operation per request to acquire and one to settle.
"""

from skyrelay.runtime.router.limits.base import (
    Limiter,
    Reservation,
    check_request,
    estimate_prompt,
    reserve_for,
)
from skyrelay.runtime.router.limits.memory import MemoryLimiter


def make_limiter(cfg) -> Limiter:
    if cfg.backend == "redis":
        from skyrelay.runtime.router.limits.redis import RedisLimiter

        return RedisLimiter.from_url(cfg.redis_url, prefix=cfg.prefix)
    return MemoryLimiter()


__all__ = ["Limiter", "MemoryLimiter", "Reservation", "check_request", "estimate_prompt", "make_limiter", "reserve_for"]
