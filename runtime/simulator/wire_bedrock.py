"""Bedrock runtime `POST /model/{modelId}/converse` and `/converse-stream` (binary event stream)."""

import uuid

import orjson
from aiohttp import web

from skyrelay.runtime.simulator import eventstream
from skyrelay.runtime.simulator.engine import SimRequest, SimUsage, error_table, record, serve, words
from skyrelay.runtime.simulator.faults import Fault
from skyrelay.runtime.simulator.tools import fragments

_STOP = {"stop": "end_turn", "length": "max_tokens", "content_filter": "guardrail_intervened",
         "tool_calls": "tool_use"}
_ERRORS = error_table(
    rate_limited=(429, "ThrottlingException", "Too many requests, please wait before trying again."),
    server_error=(500, "InternalServerException", "The server encountered an internal error."),
    unavailable=(503, "ServiceUnavailableException", "Service is temporarily unavailable."),
    unauthorized=(403, "AccessDeniedException", "The security token included in the request is invalid."),
    context_length=(400, "ValidationException", "Input is too long for requested model."),
)


def _usage(u: SimUsage) -> dict:
    return {"inputTokens": u.input, "outputTokens": u.output,
            "totalTokens": u.input + u.cache_read + u.cache_write + u.output,
            "cacheReadInputTokens": u.cache_read, "cacheWriteInputTokens": u.cache_write}


class BedrockWire:
    provider = "bedrock"
    stream_content_type = "application/vnd.amazon.eventstream"

    def error(self, kind: str, req: SimRequest, fault: Fault) -> web.Response:
        status, etype, message = _ERRORS[kind]
        headers = {"x-amzn-ErrorType": f"{etype}:http://internal.amazon.com/coral/com.amazon.bedrock/",
                   "x-amzn-RequestId": str(uuid.uuid4())}
        if kind == "429":
            headers["retry-after"] = str(max(1, round(fault.param())))
        return web.Response(body=orjson.dumps({"message": message}), status=status, headers=headers,
                            content_type="application/json")

    def content_filter(self, req: SimRequest, usage: SimUsage) -> web.Response | list[bytes]:
        usage = SimUsage(input=usage.input, cache_read=usage.cache_read, cache_write=usage.cache_write, output=0)
        if not req.stream:
            return self.sync_ok(req, "Sorry, the model cannot answer this question.", usage, "content_filter")
        return [self.stream_start(req), self.stream_end(req, usage, "content_filter", True)]

    def sync_ok(self, req: SimRequest, text: str, usage: SimUsage, finish: str) -> web.Response:
        content = [{"text": text}]
        if req.calls:
            content = [{"toolUse": {"toolUseId": cid, "name": n, "input": _input(a)}} for cid, n, a in req.calls]
        body = {"output": {"message": {"role": "assistant", "content": content}},
                "stopReason": _STOP.get(finish, "end_turn"), "usage": _usage(usage), "metrics": {"latencyMs": 1}}
        return web.Response(body=orjson.dumps(body), content_type="application/json",
                            headers={"x-amzn-RequestId": str(uuid.uuid4())})

    def stream_start(self, req: SimRequest) -> bytes:
        return eventstream.event("messageStart", {"role": "assistant"})

    def stream_chunk(self, req: SimRequest, text: str, index: int) -> bytes:
        return eventstream.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text}})

    def stream_end(self, req: SimRequest, usage: SimUsage, finish: str, marker: bool) -> bytes:
        out = b"" if req.calls else eventstream.event("contentBlockStop", {"contentBlockIndex": 0})
        if marker:
            out += eventstream.event("messageStop", {"stopReason": _STOP.get(finish, "end_turn")})
            out += eventstream.event("metadata", {"usage": _usage(usage), "metrics": {"latencyMs": 1}})
        return out

    def tool_chunks(self, req: SimRequest) -> list[bytes]:
        """As ConverseStream sends toolUse blocks: start (id, name), input fragments, stop; one block per call."""
        out = []
        for i, (cid, name, args) in enumerate(req.calls):
            out.append(eventstream.event("contentBlockStart", {"contentBlockIndex": i, "start": {
                "toolUse": {"toolUseId": cid, "name": name}}}))
            out.extend(eventstream.event("contentBlockDelta", {"contentBlockIndex": i,
                                                               "delta": {"toolUse": {"input": piece}}})
                       for piece in fragments(args))
            out.append(eventstream.event("contentBlockStop", {"contentBlockIndex": i}))
        return out

    def malformed(self, req: SimRequest) -> bytes:
        return eventstream.corrupt(eventstream.event("contentBlockDelta",
                                                     {"contentBlockIndex": 0, "delta": {"text": "x"}}))


def _texts(blocks) -> list[str]:
    return [b["text"] for b in blocks or () if isinstance(b, dict) and isinstance(b.get("text"), str)]


def parse(model: str, body: dict, stream: bool) -> SimRequest:
    """Cacheable prefix = every block before the last `cachePoint` (system blocks first)."""
    flat: list[object] = []  # texts, and None where a cachePoint sits
    for block in body.get("system") or ():
        flat.append(None if isinstance(block, dict) and "cachePoint" in block else block.get("text", ""))
    last_user = ""
    for message in body.get("messages") or ():
        for block in message.get("content") or ():
            if isinstance(block, dict) and "cachePoint" in block:
                flat.append(None)
            elif isinstance(block, dict) and isinstance(block.get("text"), str):
                flat.append(block["text"])
        if message.get("role") == "user":
            last_user = " ".join(_texts(message.get("content")))
    texts = [t for t in flat if t is not None]
    cut = max((i for i, t in enumerate(flat) if t is None), default=-1)
    prefix = [t for t in flat[:cut] if t is not None] if cut >= 0 else []
    max_tokens = (body.get("inferenceConfig") or {}).get("maxTokens")
    req = SimRequest(provider="bedrock", model=model, stream=stream, prompt_tokens=sum(words(t) for t in texts),
                     prefix_tokens=sum(words(t) for t in prefix), prefix_key=hash(tuple(prefix)),
                     cache_mode="explicit" if cut >= 0 else None, max_tokens=max_tokens, echo=last_user)
    _tools(req, body)
    return req


def _input(args: str):
    """A toolUse input: the arguments' JSON value (the `invalid-json` fault's text stays a string)."""
    try:
        return orjson.loads(args)
    except orjson.JSONDecodeError:
        return args


def _tools(req: SimRequest, body: dict) -> None:
    config = body.get("toolConfig") or {}
    req.tools = [(t["toolSpec"]["name"], (t["toolSpec"].get("inputSchema") or {}).get("json"))
                 for t in config.get("tools") or () if isinstance(t, dict) and "toolSpec" in t]
    choice = config.get("toolChoice") or {}
    req.tool_choice = ("required" if "any" in choice else (choice.get("tool") or {}).get("name") if "tool" in choice
                       else "auto" if req.tools else None)
    messages = body.get("messages") or ()
    last = messages[-1].get("content") or () if messages else ()
    results = [b["toolResult"] for b in last if isinstance(b, dict) and "toolResult" in b]
    if results:
        req.tool_result = " ".join(" ".join(_texts(r.get("content"))) for r in results)
        req.echo = "result: " + req.tool_result


async def _handle(request: web.Request, stream: bool) -> web.StreamResponse:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        return web.Response(status=400, body=b'{"message": "Malformed input request"}', content_type="application/json",
                            headers={"x-amzn-ErrorType": "ValidationException:http://internal.amazon.com/"})
    record(request, "bedrock", request.match_info["model_id"], body)
    return await serve(request, WIRE, parse(request.match_info["model_id"], body, stream))


async def converse(request: web.Request) -> web.StreamResponse:
    return await _handle(request, False)


async def converse_stream(request: web.Request) -> web.StreamResponse:
    return await _handle(request, True)


WIRE = BedrockWire()


def add_routes(app: web.Application) -> None:
    app.router.add_post("/model/{model_id}/converse", converse)
    app.router.add_post("/model/{model_id}/converse-stream", converse_stream)
