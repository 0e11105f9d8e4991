"""GET /healthz: 200 while the server can do its work, 503 when it cannot.

A platform that runs job workers beside the API sets `ctx.health` to a function returning
`{"status": "ok" | "degraded" | "unavailable", "workers": {"expected", "alive", "restarts"}}`
(`skyrelay serve` does, runtime/platforms/local/supervisor.py): with no worker alive, submitted jobs
would wait forever, so the answer is 503 and a load balancer or orchestrator can act on it.
"""

import orjson
from starlette.routing import Route

from skyrelay.runtime.api.errors import Endpoint, send_json

OK = b'{"status":"ok"}'


def routes(ctx) -> list[Route]:
    async def health_app(scope, receive, send):
        probe = getattr(ctx, "health", None)
        if probe is None:
            return await send_json(send, 200, OK)
        doc = probe()
        await send_json(send, 503 if doc["status"] == "unavailable" else 200, orjson.dumps(doc))

    return [Route("/healthz", Endpoint(health_app), methods=["GET"])]
