"""Vertex AI `.../publishers/google/models/{m}:generateContent` and `:streamGenerateContent?alt=sse`."""

import re

import orjson
from aiohttp import web

from skyrelay.runtime.simulator.engine import SimRequest, SimUsage, error_table, record, serve, words
from skyrelay.runtime.simulator.faults import Fault

_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}
_ERRORS = error_table(
    rate_limited=(429, "RESOURCE_EXHAUSTED", "Resource exhausted. Please try again later."),
    server_error=(500, "INTERNAL", "Internal error encountered."),
    unavailable=(503, "UNAVAILABLE", "The service is currently unavailable."),
    unauthorized=(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."),
)


def _usage(u: SimUsage) -> dict:
    prompt = u.input + u.cache_read
    out = {"promptTokenCount": prompt, "candidatesTokenCount": u.output, "totalTokenCount": prompt + u.output,
           "trafficType": "ON_DEMAND"}
    if u.cache_read:
        out["cachedContentTokenCount"] = u.cache_read
    return out


class VertexWire:
    provider = "vertex"
    stream_content_type = "text/event-stream"

    def error(self, kind: str, req: SimRequest, fault: Fault) -> web.Response:
        if kind == "context-length":
            status, grpc = 400, "INVALID_ARGUMENT"
            message = (f"The input token count ({req.prompt_tokens}) exceeds the maximum number of tokens allowed "
                       f"({max(1, req.prompt_tokens - 1)}).")
        else:
            status, grpc, message = _ERRORS[kind]
        headers = {"retry-after": str(max(1, round(fault.param())))} if kind == "429" else None
        return web.Response(body=orjson.dumps({"error": {"code": status, "message": message, "status": grpc}}),
                            status=status, headers=headers, content_type="application/json")

    def _response(self, req: SimRequest, text: str | None, usage: SimUsage | None, finish: str | None,
                  calls: list | None = None) -> dict:
        candidate: dict = {}
        if calls:
            candidate["content"] = {"role": "model", "parts": [{"functionCall": {"name": n, "args": _args(a)}}
                                                               for _, n, a in calls]}
        elif text is not None:
            candidate["content"] = {"role": "model", "parts": [{"text": text}]}
            if req.logprobs is not None and text:  # per token: -(characters / 10), the token as every top choice
                tokens = re.findall(r"\S+\s*", text)
                chosen = [{"token": t, "logProbability": -len(t) / 10} for t in tokens]
                candidate["logprobsResult"] = {"chosenCandidates": chosen, "topCandidates": [
                    {"candidates": [c] * req.logprobs} for c in chosen]}
        if finish:
            candidate["finishReason"] = _FINISH.get(finish, "STOP")
            if finish == "content_filter":
                candidate["safetyRatings"] = [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                                               "probability": "HIGH", "blocked": True}]
        out: dict = {"candidates": [candidate], "modelVersion": req.model}
        if usage is not None:
            out["usageMetadata"] = _usage(usage)
        return out

    def content_filter(self, req: SimRequest, usage: SimUsage) -> web.Response | list[bytes]:
        usage = SimUsage(input=usage.input, cache_read=usage.cache_read, output=0)
        body = self._response(req, None, usage, "content_filter")
        if not req.stream:
            return web.Response(body=orjson.dumps(body), content_type="application/json")
        return [b"data: " + orjson.dumps(body) + b"\r\n\r\n"]

    def sync_ok(self, req: SimRequest, text: str, usage: SimUsage, finish: str) -> web.Response:
        body = self._response(req, text, usage, "stop" if req.calls else finish, req.calls)
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    def tool_chunks(self, req: SimRequest) -> list[bytes]:
        """Gemini streams each function call whole, in one chunk."""
        return [b"data: " + orjson.dumps(self._response(req, None, None, None, req.calls)) + b"\r\n\r\n"]

    def stream_start(self, req: SimRequest) -> bytes:
        return b""

    def stream_chunk(self, req: SimRequest, text: str, index: int) -> bytes:
        return b"data: " + orjson.dumps(self._response(req, text, None, None)) + b"\r\n\r\n"

    def stream_end(self, req: SimRequest, usage: SimUsage, finish: str, marker: bool) -> bytes:
        if not marker:
            return b""
        finish = "stop" if req.calls else finish  # Gemini ends a function-calling turn with STOP
        return b"data: " + orjson.dumps(self._response(req, "", usage, finish)) + b"\r\n\r\n"

    def malformed(self, req: SimRequest) -> bytes:
        return b'data: {"candidates": [{"content": \r\n\r\n'


def parse(model: str, body: dict, stream: bool) -> SimRequest:
    texts: list[str] = []
    last_user = ""
    for part in (body.get("systemInstruction") or {}).get("parts") or ():
        texts.append(part.get("text", ""))
    for content in body.get("contents") or ():
        parts = [p.get("text", "") for p in content.get("parts") or () if isinstance(p, dict)]
        texts.extend(parts)
        if content.get("role", "user") == "user":
            last_user = " ".join(parts)
    cfg = body.get("generationConfig") or {}
    req = SimRequest(provider="vertex", model=model, stream=stream, prompt_tokens=sum(words(t) for t in texts),
                     cache_mode="resource" if body.get("cachedContent") else None,
                     max_tokens=cfg.get("maxOutputTokens"), echo=last_user)
    req.tools = [(d.get("name"), d.get("parameters")) for t in body.get("tools") or ()
                 for d in t.get("functionDeclarations") or ()]
    fcc = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    mode = fcc.get("mode")
    allowed = fcc.get("allowedFunctionNames") or []
    req.tool_choice = (allowed[0] if mode == "ANY" and len(allowed) == 1 else
                       {"ANY": "required", "NONE": "none", "AUTO": "auto"}.get(mode))
    contents = body.get("contents") or ()
    responses = [p["functionResponse"] for p in (contents[-1].get("parts") or () if contents else ())
                 if isinstance(p, dict) and "functionResponse" in p]
    if responses:
        req.tool_result = " ".join(orjson.dumps(r.get("response")).decode() for r in responses)
        req.echo = "result: " + req.tool_result
    if cfg.get("responseLogprobs"):
        req.logprobs = cfg.get("logprobs") or 0
    if cfg.get("responseMimeType") == "application/json":
        req.json_schema = cfg.get("responseSchema") or {"type": "object"}
    return req


def _args(text: str):
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


async def model_call(request: web.Request) -> web.StreamResponse:
    model, _, verb = request.match_info["tail"].rpartition(":")
    if verb == "predict":  # text embeddings (wire_embeddings.py)
        from skyrelay.runtime.simulator.wire_embeddings import vertex_predict

        return await vertex_predict(request, model)
    if verb not in ("generateContent", "streamGenerateContent"):
        return web.Response(status=404, body=b'{"error": {"code": 404, "status": "NOT_FOUND"}}',
                            content_type="application/json")
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        return web.Response(status=400, content_type="application/json",
                            body=b'{"error": {"code": 400, "message": "Invalid JSON payload", "status": "INVALID_ARGUMENT"}}')
    record(request, "vertex", model, body)
    stream = verb == "streamGenerateContent"
    if stream and request.query.get("alt") != "sse":
        return web.Response(status=400, content_type="application/json",
                            body=b'{"error": {"code": 400, "message": "simulator streams need alt=sse", '
                                 b'"status": "INVALID_ARGUMENT"}}')
    return await serve(request, WIRE, parse(model, body, stream))


WIRE = VertexWire()


def add_routes(app: web.Application) -> None:
    app.router.add_post("/{version}/projects/{project}/locations/{location}/publishers/{publisher}/models/{tail}",
                        model_call)
