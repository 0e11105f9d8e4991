"""The shared limiter for serverless platforms, written once over a versioned per-tenant document
(DynamoDB's item with a `version` attribute, a Cosmos DB document and its ETag).

One document per tenant holds the three dimensions together, so acquire is all or none in a single
conditional write:
  reqs     the admit times of the last minute (a sliding log, like the Redis backend: exact RPM)
  level/ts the TPM token bucket (reserve up front, refund the unused part on settle)
  streams  open stream leases {id: expiry}
Every write is conditional on the version it read, and a lost race re-reads and re-decides (never a
blind overwrite, never local state). The document this limiter last wrote for a tenant is kept as a
hint: the next call (settle right after acquire, the next job of a warm instance) writes against it
without reading first, one call instead of two. A stale hint only costs a failed conditional write and
a re-read; it never rejects a request (an over-limit decision is always taken on a fresh read).
Every write carries a mark unique to it (`w`): a client that retried a write which had in fact landed
(a timeout or a dropped connection after the server applied it) sees its own version fail, and the
re-read shows its mark, so the write counts once instead of being decided and written a second time
(without the mark, a request would be admitted twice: 61 admitted at RPM 60, seen under load).

An adapter supplies `_read(tenant) -> (state, version)` (version None: no document yet) and
`_write(tenant, state, version, now) -> new version | None` (None: the version moved on), and makes
idle tenants' documents expire (`expires_in(state, now)` seconds after the write).
Cost note: the sliding log makes a document ~12 bytes per admitted request in the last minute.
"""

import asyncio
import os
import random
import time
from collections.abc import Callable
from itertools import count
from typing import Any

from skyrelay.runtime.router.limits.base import WINDOW_S, Reservation, limit_headers, limited
from skyrelay.tiers import Tier

MAX_RACES = 50
MAX_HINTS = 1024  # tenants whose last written document is kept (a hint, see above)


def expires_in(state: dict, now: float) -> float:
    """Seconds an idle tenant's document must outlive its last write: two windows past its last lease."""
    return 2 * WINDOW_S + max(max(state.get("streams", {}).values(), default=now) - now, 0.0)


class VersionedStateLimiter:
    def __init__(self, stream_lease_s: float = 3600.0, clock: Callable[[], float] = time.time):
        self.lease = stream_lease_s
        self.clock = clock
        self._node = os.urandom(6).hex()
        self._ids = count()
        self._hints: dict[str, tuple[dict, Any]] = {}

    # ---- what an adapter supplies ----
    async def _read(self, tenant: str) -> tuple[dict, Any]:
        raise NotImplementedError

    async def _write(self, tenant: str, state: dict, version: Any, now: float) -> Any:
        raise NotImplementedError

    # ---- the Limiter port ----
    async def _written(self, tenant: str, state: dict, version: Any, now: float) -> bool:
        new = await self._write(tenant, state, version, now)
        if new is None:
            return False
        if len(self._hints) >= MAX_HINTS:
            self._hints.clear()
        self._hints[tenant] = (state, new)
        return True

    @staticmethod
    def _current(state: dict, tier: Tier, now: float) -> tuple[list[float], float, dict[str, float]]:
        reqs = [t for t in state.get("reqs", []) if t > now - WINDOW_S]
        if "level" in state:
            level = min(tier.tpm, state["level"] + (now - state["ts"]) * tier.tpm / WINDOW_S)
        else:
            level = float(tier.tpm)
        streams = {k: v for k, v in state.get("streams", {}).items() if v > now}
        return reqs, level, streams

    def _landed(self, tenant: str, state: dict, version: Any, mark: str | None) -> bool:
        """True when the document read is the write marked `mark`, reported lost by a retried call."""
        if mark is None or state.get("w") != mark:
            return False
        self._hints[tenant] = (state, version)
        return True

    async def acquire(self, tenant: str, tier: Tier, tokens: int, stream: bool = False) -> Reservation:
        member = f"{self._node}:{next(self._ids)}"
        hint = self._hints.pop(tenant, None)
        mark, made = None, None
        for attempt in range(MAX_RACES):
            fresh = hint is None
            (state, version), hint = hint or await self._read(tenant), None
            if self._landed(tenant, state, version, mark):
                return made
            now = self.clock()
            reqs, level, streams = self._current(state, tier, now)
            headers = limit_headers(tier, tier.rpm - len(reqs), level)
            need = min(tokens, tier.tpm)
            over = (len(reqs) >= tier.rpm, need > level, stream and len(streams) >= tier.max_concurrent_streams)
            if any(over) and not fresh:
                continue  # the hint may be behind other instances' refunds: decide on a fresh read
            if over[0]:
                # admit times are stored rounded to 1 ms: never promise more than the window
                raise limited("requests", min(WINDOW_S, reqs[0] + WINDOW_S - now), headers)
            if over[1]:
                raise limited("tokens", (need - level) * WINDOW_S / tier.tpm, headers)
            if over[2]:
                raise limited("streams", 1.0, headers)
            if stream:
                streams[member] = now + self.lease
            mark = f"{member}.{attempt}"
            new = {"reqs": [*reqs, round(now, 3)], "level": level - need, "ts": now, "streams": streams, "w": mark}
            made = Reservation(
                tenant, need, member if stream else None, limit_headers(tier, tier.rpm - len(reqs) - 1, level - need)
            )
            if await self._written(tenant, new, version, now):
                return made
            if fresh:  # lost a race: re-read and decide again (a stale hint just re-reads)
                await asyncio.sleep(random.uniform(0, 0.005))
        raise limited("requests", 0.05, limit_headers(tier, 0, 0))

    async def settle(self, reservation: Reservation, tier: Tier, used_tokens: int) -> None:
        if reservation.settled:
            return
        reservation.settled = True
        refund = max(0, reservation.tokens - used_tokens)
        hint = self._hints.pop(reservation.tenant, None)
        mark = None
        for attempt in range(MAX_RACES):
            fresh = hint is None
            (state, version), hint = hint or await self._read(reservation.tenant), None
            if version is None or self._landed(reservation.tenant, state, version, mark):
                return
            now = self.clock()
            reqs, level, streams = self._current(state, tier, now)
            if reservation.stream_id is not None:
                streams.pop(reservation.stream_id, None)
            mark = f"{self._node}:settle:{next(self._ids)}.{attempt}"
            new = {"reqs": reqs, "level": min(tier.tpm, level + refund), "ts": now, "streams": streams, "w": mark}
            if await self._written(reservation.tenant, new, version, now):
                return
            if fresh:
                await asyncio.sleep(random.uniform(0, 0.005))
