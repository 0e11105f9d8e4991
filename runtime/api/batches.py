"""The OpenAI Batch API: raw ASGI like the other routes.

    POST /v1/batches {"input_file_id", "endpoint": "/v1/chat/completions", "completion_window": "24h",
                      "metadata"?}                   -> 200 the batch (in_progress)
    GET  /v1/batches?limit=&after=                  -> 200 {"object": "list", "data", "first_id", "last_id", "has_more"}
    GET  /v1/batches/{batch_id}                     -> 200 the batch (404 for another tenant's batch)
    POST /v1/batches/{batch_id}/cancel              -> 200 the batch (cancelling), 409 when already final
"""


import orjson
from starlette.routing import Route

from skyrelay.runtime.api.auth import tenant_of
from skyrelay.runtime.api.body import read_body
from skyrelay.runtime.api.errors import send_error, send_json
from skyrelay.runtime.api.paging import list_query
from skyrelay.runtime.batch.service import batch_object
from skyrelay.runtime.batch.wiring import batch_service_for
from skyrelay.runtime.parse import load_json


class BatchesCollection:
    def __init__(self, ctx):
        self.ctx = ctx
        self.limit = ctx.config.api.max_body_bytes

    async def __call__(self, scope, receive, send):
        state = scope.setdefault("state", {})
        try:
            h = dict(scope["headers"])
            tenant = tenant_of(self.ctx.keys, h)
            svc = batch_service_for(self.ctx)
            if scope["method"] == "GET":
                limit, q = list_query(scope, 100)
                page, more = await svc.list(tenant.name, limit, q.get("after", [None])[0])
                data = [batch_object(r) for r in page]
                body = {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                        "last_id": data[-1]["id"] if data else None, "has_more": more}
            else:
                doc = load_json(await read_body(receive, self.limit, h.get(b"content-length")))
                body = batch_object(await svc.create(tenant, doc))
        except Exception as exc:
            state["status"] = await send_error(send, exc)
            return
        state["status"] = 200
        await send_json(send, 200, orjson.dumps(body))


class BatchItem:
    def __init__(self, ctx, cancel: bool):
        self.ctx, self.cancel = ctx, cancel

    async def __call__(self, scope, receive, send):
        state = scope.setdefault("state", {})
        try:
            tenant = tenant_of(self.ctx.keys, dict(scope["headers"]))
            svc = batch_service_for(self.ctx)
            batch_id = scope["path_params"]["batch_id"]
            r = await (svc.cancel if self.cancel else svc.get)(tenant.name, batch_id)
        except Exception as exc:
            state["status"] = await send_error(send, exc)
            return
        state["status"] = 200
        await send_json(send, 200, orjson.dumps(batch_object(r)))


def routes(ctx) -> list[Route]:
    return [
        Route("/v1/batches", BatchesCollection(ctx), methods=["GET", "POST"]),
        Route("/v1/batches/{batch_id}", BatchItem(ctx, False), methods=["GET"]),
        Route("/v1/batches/{batch_id}/cancel", BatchItem(ctx, True), methods=["POST"]),
    ]
