"""The async job API: POST/GET /v1/jobs, GET/DELETE /v1/jobs/{id}. Raw ASGI like the chat route.

    POST /v1/jobs            {"model", "prompt" | "messages", "max_tokens"?, "callback_url"?, "priority"?,
                              "metadata"?, "preference"?}  + optional `Idempotency-Key`, `X-Model-Preference`
                             -> 202 {"id", "status", "created_at"}, Location: /v1/jobs/{id}
    GET /v1/jobs/{id}        -> 200 the job (404 for another tenant's job)
    GET /v1/jobs?limit=&cursor=&status=   -> 200 {"object": "list", "data": [...], "next_cursor"}
    DELETE /v1/jobs/{id}     -> 200 the cancelled job (PENDING only; else 409 job_not_cancellable)

Errors are `{"error": {"code", "message"}}` with the router's stable codes (runtime/errors.py).
The service comes from `ctx.jobs` (set by a platform) or is built from the config's `jobs:` section.
"""


import orjson
from starlette.routing import Route

from skyrelay.runtime.api.auth import tenant_of
from skyrelay.runtime.api.body import read_body
from skyrelay.runtime.api.errors import send_error, send_json
from skyrelay.runtime.api.paging import list_query
from skyrelay.runtime.errors import NotFound, ValidationFailed
from skyrelay.runtime.jobs.model import JobStatus
from skyrelay.runtime.jobs.wiring import service_for
from skyrelay.runtime.parse import load_json


def _service(ctx):
    svc = service_for(ctx)
    if svc is None:
        raise NotFound("async jobs are not enabled: add a `jobs:` section to the config")
    return svc


class JobsCollection:
    def __init__(self, ctx):
        self.ctx = ctx
        self.limit = ctx.config.api.max_body_bytes

    async def __call__(self, scope, receive, send):
        state = scope.setdefault("state", {})
        try:
            h = dict(scope["headers"])
            tenant = tenant_of(self.ctx.keys, h)
            svc = _service(self.ctx)
            if scope["method"] == "GET":
                return await self._list(scope, send, svc, tenant, state)
            doc = load_json(await read_body(receive, self.limit, h.get(b"content-length")))
            key = h.get(b"idempotency-key")
            pref = h.get(b"x-model-preference")
            job, created = await svc.submit(
                tenant, doc, key.decode("latin-1").strip() if key is not None else None,
                pref.decode("latin-1").strip().lower() if pref else None)
        except Exception as exc:
            state["status"] = await send_error(send, exc)
            return
        headers = [(b"location", f"/v1/jobs/{job.id}".encode())]
        if not created:
            headers.append((b"idempotent-replayed", b"true"))
        state["status"] = 202
        await send_json(send, 202, orjson.dumps({"id": job.id, "status": job.status.value,
                                                 "created_at": job.created_at}), headers)

    async def _list(self, scope, send, svc, tenant, state):
        limit, q = list_query(scope, 1000)
        status = q.get("status", [None])[0]
        if status is not None:
            try:
                status = JobStatus(status.upper())
            except ValueError:
                raise ValidationFailed("status: must be PENDING, PROCESSING, COMPLETE or FAILED") from None
        jobs, nxt = await svc.list(tenant.name, limit, q.get("cursor", [None])[0], status)
        state["status"] = 200
        await send_json(send, 200, orjson.dumps({"object": "list", "data": [j.summary() for j in jobs],
                                                 "next_cursor": nxt, "has_more": nxt is not None}))


class JobItem:
    def __init__(self, ctx):
        self.ctx = ctx

    async def __call__(self, scope, receive, send):
        state = scope.setdefault("state", {})
        try:
            tenant = tenant_of(self.ctx.keys, dict(scope["headers"]))
            svc = _service(self.ctx)
            job_id = scope["path_params"]["job_id"]
            if scope["method"] == "DELETE":
                job = await svc.cancel(tenant.name, job_id)
            else:
                job = await svc.get(tenant.name, job_id)
        except Exception as exc:
            state["status"] = await send_error(send, exc)
            return
        state["status"] = 200
        await send_json(send, 200, orjson.dumps(job.public()))


def routes(ctx) -> list[Route]:
    return [
        Route("/v1/jobs", JobsCollection(ctx), methods=["GET", "POST"]),
        Route("/v1/jobs/{job_id}", JobItem(ctx), methods=["GET", "DELETE"]),
    ]
