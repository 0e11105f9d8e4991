"""The shared limiter: one Lua script per operation, so replicas never race and never read local state.

Keys per tenant (hash-tagged so a cluster keeps them on one slot):
  {prefix}:{tenant}:req  sorted set, one member per admitted request, score = admit time (sliding log)
  {prefix}:{tenant}:tok  hash {level, ts}: the TPM token bucket
  {prefix}:{tenant}:str  sorted set of open stream leases, score = lease expiry
Time comes from the Redis server (TIME), so replica clocks do not matter.
"""

import os
from itertools import count

from skyrelay.runtime.router.limits.base import WINDOW_S, Reservation, limit_headers, limited
from skyrelay.tiers import Tier

ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rpm, tpm, need = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local window = tonumber(ARGV[8])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
local b = redis.call('HMGET', KEYS[2], 'level', 'ts')
local level = tonumber(b[1])
if level == nil then level = tpm else level = math.min(tpm, level + (now - tonumber(b[2])) * tpm / window) end
if n >= rpm then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, 'requests', tostring(tonumber(oldest[2]) + window - now), n, tostring(level)}
end
if need > tpm then need = tpm end
if need > level then
  return {0, 'tokens', tostring((need - level) * window / tpm), n, tostring(level)}
end
if ARGV[4] == '1' then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[5]) then
    return {0, 'streams', '1', n, tostring(level)}
  end
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), ARGV[7])
  redis.call('EXPIRE', KEYS[3], math.ceil(tonumber(ARGV[6])) + 60)
end
redis.call('ZADD', KEYS[1], now, ARGV[7])
redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
level = level - need
redis.call('HSET', KEYS[2], 'level', tostring(level), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[2], math.ceil(window) * 2)
return {1, tostring(need), '0', n + 1, tostring(level)}
"""

SETTLE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tpm, refund, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[5])
local b = redis.call('HMGET', KEYS[1], 'level', 'ts')
local level = tonumber(b[1])
if level == nil then level = tpm else level = level + (now - tonumber(b[2])) * tpm / window end
level = math.min(tpm, level + refund)
redis.call('HSET', KEYS[1], 'level', tostring(level), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(window) * 2)
if ARGV[3] == '1' then redis.call('ZREM', KEYS[2], ARGV[4]) end
return 1
"""


class RedisLimiter:
    def __init__(self, client, prefix: str = "skyrelay:rl", stream_lease_s: float = 3600.0):
        self.client = client
        self.prefix = prefix
        self.lease = stream_lease_s
        self._acquire = client.register_script(ACQUIRE)
        self._settle = client.register_script(SETTLE)
        self._node = os.urandom(6).hex()
        self._ids = count()

    @classmethod
    def from_url(cls, url: str, prefix: str = "skyrelay:rl") -> "RedisLimiter":
        import redis.asyncio as aioredis

        return cls(aioredis.from_url(url), prefix)

    def _keys(self, tenant: str) -> tuple[str, str, str]:
        base = f"{self.prefix}:{{{tenant}}}"
        return f"{base}:req", f"{base}:tok", f"{base}:str"

    async def acquire(self, tenant: str, tier: Tier, tokens: int, stream: bool = False) -> Reservation:
        req, tok, streams = self._keys(tenant)
        member = f"{self._node}:{next(self._ids)}"
        ok, detail, wait, n, level = await self._acquire(
            keys=[req, tok, streams],
            args=[tier.rpm, tier.tpm, tokens, "1" if stream else "0", tier.max_concurrent_streams,
                  self.lease, member, WINDOW_S],
        )
        headers = limit_headers(tier, tier.rpm - int(n), float(level))
        if not ok:
            raise limited(detail.decode(), float(wait), headers)
        return Reservation(tenant, int(float(detail)), member if stream else None, headers)

    async def settle(self, reservation: Reservation, tier: Tier, used_tokens: int) -> None:
        if reservation.settled:
            return
        reservation.settled = True
        _, tok, streams = self._keys(reservation.tenant)
        has_stream = reservation.stream_id is not None
        await self._settle(
            keys=[tok, streams],
            args=[tier.tpm, reservation.tokens - used_tokens, "1" if has_stream else "0",
                  reservation.stream_id or "", WINDOW_S],
        )

    async def close(self) -> None:
        await self.client.aclose()
