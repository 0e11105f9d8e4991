"""The single-process limiter: a sliding-window log for RPM, a token bucket for TPM, a stream counter.

Correct only within one process. With several workers or replicas use the Redis backend.
"""

import time
from collections import deque
from collections.abc import Callable
from itertools import count

from skyrelay.runtime.router.limits.base import WINDOW_S, Reservation, limit_headers, limited
from skyrelay.tiers import Tier


class MemoryLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.requests: dict[str, deque[float]] = {}
        self.buckets: dict[str, list[float]] = {}  # tenant -> [level, updated_at]
        self.streams: dict[str, set[str]] = {}
        self._ids = count()

    def _level(self, tenant: str, tier: Tier, now: float) -> list[float]:
        b = self.buckets.get(tenant)
        if b is None:
            b = self.buckets[tenant] = [float(tier.tpm), now]
        else:
            b[0] = min(float(tier.tpm), b[0] + (now - b[1]) * tier.tpm / WINDOW_S)
            b[1] = now
        return b

    async def acquire(self, tenant: str, tier: Tier, tokens: int, stream: bool = False) -> Reservation:
        now = self.clock()
        log = self.requests.get(tenant)
        if log is None:
            log = self.requests[tenant] = deque()
        edge = now - WINDOW_S
        while log and log[0] <= edge:
            log.popleft()
        bucket = self._level(tenant, tier, now)
        if len(log) >= tier.rpm:
            raise limited("requests", log[0] + WINDOW_S - now, limit_headers(tier, 0, bucket[0]))
        need = min(tokens, tier.tpm)
        if need > bucket[0]:
            wait = (need - bucket[0]) * WINDOW_S / tier.tpm
            raise limited("tokens", wait, limit_headers(tier, tier.rpm - len(log), bucket[0]))
        stream_id = None
        if stream:
            live = self.streams.setdefault(tenant, set())
            if len(live) >= tier.max_concurrent_streams:
                raise limited("streams", 1.0, limit_headers(tier, tier.rpm - len(log), bucket[0]))
            stream_id = str(next(self._ids))
            live.add(stream_id)
        log.append(now)
        bucket[0] -= need
        return Reservation(tenant, need, stream_id, limit_headers(tier, tier.rpm - len(log), bucket[0]))

    async def settle(self, reservation: Reservation, tier: Tier, used_tokens: int) -> None:
        if reservation.settled:
            return
        reservation.settled = True
        bucket = self._level(reservation.tenant, tier, self.clock())
        bucket[0] = min(float(tier.tpm), bucket[0] + reservation.tokens - used_tokens)
        if reservation.stream_id is not None:
            self.streams.get(reservation.tenant, set()).discard(reservation.stream_id)

    async def close(self) -> None:
        return None
