"""The serverless shared limiter: per-tenant limits in the job table, shared by every Lambda container
without a VPC or Redis.

One item per tenant (pk=LIMIT#<tenant>, sk=LIMIT) holds the three dimensions together, so acquire is
all or none in a single conditional write:
  reqs     the admit times of the last minute (a sliding log, like the Redis backend: exact RPM)
  level/ts the TPM token bucket (reserve up front, refund the unused part on settle)
  streams  open stream leases {id: expiry}
  version  optimistic concurrency: every write is conditional on the version it read, and a lost
           race re-reads and re-decides (never a blind overwrite, never local state)
The item this limiter last wrote for a tenant is kept as a hint: the next call (settle right after
acquire, the next job of a warm container) writes against it without reading first, one call instead
of two. A stale hint only costs a failed conditional write and a re-read; it never rejects a request
(an over-limit decision is always taken on a fresh read).
Idle tenants' items expire through the table's TTL attribute.

Cost note: the sliding log makes an item ~12 bytes per admitted request in the last minute (about
12 KB, 12 WCU per write, at an Enterprise 1,000 RPM). Time is the container clock (NTP-synced on Lambda).
"""

import asyncio
import json
import os
import random
import time
from collections.abc import Callable
from itertools import count
from typing import Any

from skyrelay.runtime.clouds.aws.adapter import AwsAdapter
from skyrelay.runtime.clouds.aws.errors import error_code
from skyrelay.runtime.router.limits.base import WINDOW_S, Reservation, limit_headers, limited
from skyrelay.tiers import Tier

MAX_RACES = 50
MAX_HINTS = 1024  # tenants whose last written item is kept (a hint, see above)


class DynamoDbLimiter(AwsAdapter):
    service = "dynamodb"

    def __init__(
        self,
        table: str,
        client: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        stream_lease_s: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ):
        super().__init__(client, endpoint_url, region)
        self.table = table
        self.lease = stream_lease_s
        self.clock = clock
        self._node = os.urandom(6).hex()
        self._ids = count()
        self._hints: dict[str, tuple[dict, int]] = {}

    @staticmethod
    def _key(tenant: str) -> dict:
        return {"pk": {"S": f"LIMIT#{tenant}"}, "sk": {"S": "LIMIT"}}

    async def _read(self, tenant: str) -> tuple[dict, int]:
        out = await self._call("get_item", TableName=self.table, Key=self._key(tenant), ConsistentRead=True)
        item = out.get("Item")
        if item is None:
            return {}, 0
        return json.loads(item["state"]["S"]), int(item["version"]["N"])

    async def _write(self, tenant: str, state: dict, version: int, now: float) -> bool:
        expires = int(now + 2 * WINDOW_S + max(state.get("streams", {}).values(), default=now) - now)
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Item": {
                **self._key(tenant),
                "state": {"S": json.dumps(state, separators=(",", ":"))},
                "version": {"N": str(version + 1)},
                "expires_at": {"N": str(expires)},
            },
        }
        if version:
            kwargs["ConditionExpression"] = "version = :v"
            kwargs["ExpressionAttributeValues"] = {":v": {"N": str(version)}}
        else:
            kwargs["ConditionExpression"] = "attribute_not_exists(pk)"
        try:
            await self._call("put_item", **kwargs)
            if len(self._hints) >= MAX_HINTS:
                self._hints.clear()
            self._hints[tenant] = (state, version + 1)
            return True
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise

    @staticmethod
    def _current(state: dict, tier: Tier, now: float) -> tuple[list[float], float, dict[str, float]]:
        reqs = [t for t in state.get("reqs", []) if t > now - WINDOW_S]
        if "level" in state:
            level = min(tier.tpm, state["level"] + (now - state["ts"]) * tier.tpm / WINDOW_S)
        else:
            level = float(tier.tpm)
        streams = {k: v for k, v in state.get("streams", {}).items() if v > now}
        return reqs, level, streams

    async def acquire(self, tenant: str, tier: Tier, tokens: int, stream: bool = False) -> Reservation:
        member = f"{self._node}:{next(self._ids)}"
        hint = self._hints.pop(tenant, None)
        for _ in range(MAX_RACES):
            fresh = hint is None
            (state, version), hint = hint or await self._read(tenant), None
            now = self.clock()
            reqs, level, streams = self._current(state, tier, now)
            headers = limit_headers(tier, tier.rpm - len(reqs), level)
            need = min(tokens, tier.tpm)
            over = (len(reqs) >= tier.rpm, need > level, stream and len(streams) >= tier.max_concurrent_streams)
            if any(over) and not fresh:
                continue  # the hint may be behind other containers' refunds: decide on a fresh read
            if over[0]:
                # admit times are stored rounded to 1 ms: never promise more than the window
                raise limited("requests", min(WINDOW_S, reqs[0] + WINDOW_S - now), headers)
            if over[1]:
                raise limited("tokens", (need - level) * WINDOW_S / tier.tpm, headers)
            if over[2]:
                raise limited("streams", 1.0, headers)
            if stream:
                streams[member] = now + self.lease
            new = {"reqs": [*reqs, round(now, 3)], "level": level - need, "ts": now, "streams": streams}
            if await self._write(tenant, new, version, now):
                return Reservation(
                    tenant, need, member if stream else None, limit_headers(tier, tier.rpm - len(reqs) - 1, level - need)
                )
            if fresh:  # lost a race: re-read and decide again (a stale hint just re-reads)
                await asyncio.sleep(random.uniform(0, 0.005))
        raise limited("requests", 0.05, limit_headers(tier, 0, 0))

    async def settle(self, reservation: Reservation, tier: Tier, used_tokens: int) -> None:
        if reservation.settled:
            return
        reservation.settled = True
        refund = max(0, reservation.tokens - used_tokens)
        hint = self._hints.pop(reservation.tenant, None)
        for _ in range(MAX_RACES):
            fresh = hint is None
            (state, version), hint = hint or await self._read(reservation.tenant), None
            if not version:
                return
            now = self.clock()
            reqs, level, streams = self._current(state, tier, now)
            if reservation.stream_id is not None:
                streams.pop(reservation.stream_id, None)
            new = {"reqs": reqs, "level": min(tier.tpm, level + refund), "ts": now, "streams": streams}
            if await self._write(reservation.tenant, new, version, now):
                return
            if fresh:
                await asyncio.sleep(random.uniform(0, 0.005))
