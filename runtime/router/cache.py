"""Exact response cache, keyed on the normalised request (sha256 of canonical JSON), with a TTL.

The key covers the tenant, the logical model and every field that changes the answer, so two
tenants never share an entry. Memory (bounded LRU) and Redis backends; a request opts out with
`Cache-Control: no-store` or `x-skyrelay-cache: off` (the API turns those into `use_cache=False`).
"""

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable

import orjson

from skyrelay.runtime.canonical import ChatRequest, ChatResult, Usage


def cache_key(tenant: str, request: ChatRequest) -> str:
    doc = {
        "t": tenant,
        "m": request.model,
        "msgs": [[m.role, m.content] if m.tool_calls is None and m.tool_call_id is None
                 else [m.role, m.content, m.tool_calls, m.tool_call_id] for m in request.messages],
        "max": request.max_tokens,
        "temp": request.temperature,
        "top_p": request.top_p,
        "stop": request.stop,
        "x": request.extra,
    }
    if request.tools or request.tool_choice or request.response_format or request.seed is not None \
            or request.parallel_tool_calls is not None:
        doc["tools"] = [request.tools, request.tool_choice, request.parallel_tool_calls, request.response_format,
                        request.seed]
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _dump(result: ChatResult) -> bytes:
    u = result.usage
    return orjson.dumps([result.text, result.finish_reason, result.provider_model,
                        u.input_tokens, u.cache_read_tokens, u.cache_write_tokens, u.output_tokens,
                        result.tool_calls])


def _load(raw: bytes) -> ChatResult:
    text, finish, provider_model, i, cr, cw, o, *calls = orjson.loads(raw)
    return ChatResult(text, Usage(i, cr, cw, o), finish, provider_model, calls[0] if calls else None)


class MemoryCache:
    def __init__(self, ttl_s: float, max_entries: int, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl_s
        self.max = max_entries
        self.clock = clock
        self.entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    async def get(self, key: str) -> ChatResult | None:
        hit = self.entries.get(key)
        if hit is None:
            return None
        if hit[0] <= self.clock():
            del self.entries[key]
            return None
        self.entries.move_to_end(key)
        return _load(hit[1])

    async def put(self, key: str, result: ChatResult) -> None:
        await self.put_bytes(key, _dump(result))

    async def get_bytes(self, key: str) -> bytes | None:
        """An entry as stored (embeddings keep their vectors here, runtime/router/embeddings.py)."""
        hit = self.entries.get(key)
        if hit is None:
            return None
        if hit[0] <= self.clock():
            del self.entries[key]
            return None
        self.entries.move_to_end(key)
        return hit[1]

    async def put_bytes(self, key: str, raw: bytes) -> None:
        self.entries[key] = (self.clock() + self.ttl, raw)
        self.entries.move_to_end(key)
        while len(self.entries) > self.max:
            self.entries.popitem(last=False)

    async def close(self) -> None:
        return None


class RedisCache:
    def __init__(self, client, ttl_s: float, prefix: str = "skyrelay:cache:"):
        self.client = client
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str, ttl_s: float) -> "RedisCache":
        import redis.asyncio as aioredis

        return cls(aioredis.from_url(url), ttl_s)

    async def get(self, key: str) -> ChatResult | None:
        raw = await self.client.get(self.prefix + key)
        return None if raw is None else _load(raw)

    async def put(self, key: str, result: ChatResult) -> None:
        await self.client.set(self.prefix + key, _dump(result), px=self.ttl_ms)

    async def get_bytes(self, key: str) -> bytes | None:
        return await self.client.get(self.prefix + key)

    async def put_bytes(self, key: str, raw: bytes) -> None:
        await self.client.set(self.prefix + key, raw, px=self.ttl_ms)

    async def close(self) -> None:
        await self.client.aclose()


def make_cache(cfg):
    if not cfg.enabled:
        return None
    if cfg.backend == "redis":
        return RedisCache.from_url(cfg.redis_url, cfg.ttl_s)
    return MemoryCache(cfg.ttl_s, cfg.max_entries)
