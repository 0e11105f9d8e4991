"""POST /v1/chat/completions (OpenAI-compatible; JSON or SSE) and GET /v1/models.

A raw ASGI endpoint: no pydantic and no Request object on the hot path. Validation is hand-written
and names the offending field; every failure is a 4xx with a stable code.
"""

import asyncio
import os
import time
from itertools import count

import orjson

from skyrelay.runtime.api import timings
from skyrelay.runtime.api.body import read_body
from skyrelay.runtime.api.errors import Endpoint, MethodNotAllowed, send_error, send_json
from skyrelay.runtime.api.sse import DONE, ChunkWriter, error_event, message_doc, usage_doc
from skyrelay.runtime.api.sync_budget import SyncBudget
from skyrelay.runtime.api.watch import CLIENT_CLOSED, DisconnectWatch
from skyrelay.runtime.errors import (
    ProviderError,
)
from skyrelay.runtime.parse import load_json, parse_chat

_ids = count()
_node = os.urandom(4).hex()
SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]


def _headers(scope) -> dict[bytes, bytes]:
    return dict(scope["headers"])


class ChatEndpoint:
    """The chat completions route as a plain ASGI app."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.limit = ctx.config.api.max_body_bytes
        self.sync_budget = SyncBudget(ctx.config)

    async def __call__(self, scope, receive, send):
        state = scope.setdefault("state", {})
        if scope["method"] != "POST":
            state["status"] = await send_error(send, MethodNotAllowed("POST"))
            return
        try:
            h = _headers(scope)
            t_auth = time.perf_counter()
            tenant = self.ctx.keys.tenant_for(h.get(b"authorization"), h.get(b"x-api-key"))
            timings.add("auth_limit", time.perf_counter() - t_auth)
            body = await read_body(receive, self.limit, h.get(b"content-length"))
            req, include_usage = parse_chat(load_json(body))
            self.sync_budget.admit(req)
            pref = h.get(b"x-model-preference")
            pref = pref.decode("latin-1").strip().lower() if pref else None
            if req.stream:
                return await self._stream(send, receive, state, req, tenant, pref, include_usage)
            cc = h.get(b"cache-control", b"").lower()
            use_cache = b"no-store" not in cc and b"no-cache" not in cc and h.get(b"x-skyrelay-cache") != b"off"
            out = await self.ctx.router.complete(req, tenant, pref, use_cache)
        except Exception as exc:
            state["status"] = await send_error(send, exc)
            return
        state["upstream_s"] = out.upstream_s
        state["deployment"] = out.deployment
        r = out.result
        if not out.cached:
            self.sync_budget.observe(req.model, r.usage.output_tokens, out.upstream_s)
        doc = {
            "id": f"chatcmpl-{_node}{next(_ids):x}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": req.model,
            "system_fingerprint": None,
            "choices": [_choice(0, r)] if r.choices is None else [_choice(i, c) for i, c in
                                                                   enumerate((r, *r.choices))],
            "usage": usage_doc(r.usage),
        }
        extra = [(k.encode(), v.encode()) for k, v in out.headers.items()]
        extra.append((b"x-skyrelay-deployment", out.deployment.encode()))
        if out.cached:
            extra.append((b"x-skyrelay-cache", b"hit"))
        state["status"] = 200
        await send_json(send, 200, orjson.dumps(doc), extra)

    async def _stream(self, send, receive, state, req, tenant, pref, include_usage):
        rs = await self.ctx.router.stream(req, tenant, pref)  # errors before the commit are plain 4xx/5xx
        state["upstream_s"] = rs.upstream_s
        state["deployment"] = rs.deployment
        state["status"] = 200
        w = ChunkWriter(f"chatcmpl-{_node}{next(_ids):x}", int(time.time()), req.model)
        headers = SSE_HEADERS + [(k.encode(), v.encode()) for k, v in rs.headers.items()]
        headers.append((b"x-skyrelay-deployment", rs.deployment.encode()))
        finish = "stop"
        out = [w.role()]
        ready = rs.ready
        watch = DisconnectWatch(receive, rs)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            async for delta in rs:
                if delta.choice:  # n > 1: another choice's piece
                    out.append(w.other(delta))
                    continue
                if delta.text:
                    out.append(w.text(delta.text) if delta.logprobs is None else w.text(delta.text, delta.logprobs))
                if delta.tool_calls:
                    out.append(w.tool_calls(delta.tool_calls))
                if delta.finish_reason:
                    finish = delta.finish_reason
                # Deltas that arrived together (already buffered: taking the next one waits on nothing)
                # go out in one write; anything else is sent as soon as it is here.
                if out and not ready():
                    await send({"type": "http.response.body", "body": b"".join(out), "more_body": True})
                    out = []
            out.append(w.finish(finish))
            if include_usage and rs.usage is not None:
                out.append(w.usage(rs.usage))
            out.append(DONE)
            await send({"type": "http.response.body", "body": b"".join(out)})
        except ProviderError as exc:  # after the first byte: never splice, end with an error event
            state["status"] = exc.status
            out.append(error_event(exc))
            await send({"type": "http.response.body", "body": b"".join(out)})
        except asyncio.CancelledError:
            if not watch.left():
                raise
            state["status"] = CLIENT_CLOSED
        finally:
            watch.stop()
            await rs.aclose()


def _choice(index: int, r) -> dict:
    return {"index": index, "message": message_doc(r.text, r.tool_calls),
            "logprobs": None if r.logprobs is None else {"content": r.logprobs, "refusal": None},
            "finish_reason": r.finish_reason}


async def list_models(ctx, scope, receive, send):
    h = _headers(scope)
    tenant = ctx.keys.tenant_for(h.get(b"authorization"), h.get(b"x-api-key"))
    tier = ctx.router.tiers[tenant.tier]
    data = [{"id": name, "object": "model", "created": 0, "owned_by": "skyrelay"}
            for name, cls in ctx.router.model_classes.items() if tier.allows(cls)]
    await send_json(send, 200, orjson.dumps({"object": "list", "data": data}))


def routes(ctx) -> list:
    from starlette.routing import Route

    return [
        Route("/v1/chat/completions", ChatEndpoint(ctx)),
        Route("/v1/models", Endpoint(lambda *a: list_models(ctx, *a)), methods=["GET"]),
    ]
