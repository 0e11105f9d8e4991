"""Model keep-alive: one minimal request to each listed deployment, for endpoints with a model-load
cold start (a self-hosted or serverless endpoint that unloads an idle model).

A schedule (EventBridge on AWS, every 5 minutes: deployment.KEEPALIVE_SCHEDULE) invokes the worker
with deployment.keepalive_event(names); the worker answers it here, calling each deployment's
upstream directly with a one-token request: no tenant, no limiter, no cache, no job store or queue.
Off by default; configured per deployment in the stack (`skyrelay:aws.keepAlive`).
"""

import asyncio
import time

from skyrelay.runtime.canonical import ChatRequest, Message

PING = "ping"
PING_TIMEOUT_S = 20.0


async def ping(config, call, names: list[str], timeout_s: float = PING_TIMEOUT_S) -> dict:
    """{"keepalive": {name: {"ok", "seconds"} | {"ok": False, "error"}}}; never raises for one deployment."""
    by_name = {d.name: d for d in config.deployments}

    async def one(name: str) -> dict:
        dep = by_name.get(name)
        if dep is None:
            return {"ok": False, "error": "unknown deployment"}
        request = ChatRequest(dep.model, [Message("user", PING)], max_tokens=1)
        t0 = time.monotonic()
        try:
            await call(dep.upstream(), request, timeout_s)
        except Exception as exc:  # noqa: BLE001 - reported per deployment, the next ping retries
            return {"ok": False, "error": getattr(exc, "code", type(exc).__name__)}
        return {"ok": True, "seconds": round(time.monotonic() - t0, 3)}

    results = await asyncio.gather(*(one(n) for n in names))
    return {"keepalive": dict(zip(names, results, strict=True))}
