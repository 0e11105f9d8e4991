"""OpenAI `/v1/chat/completions` and Azure OpenAI `/openai/deployments/{d}/chat/completions` (sync + SSE)."""

import re
import time

import orjson
from aiohttp import web

from skyrelay.runtime.simulator.engine import SimRequest, SimUsage, record, serve, words
from skyrelay.runtime.simulator.faults import Fault
from skyrelay.runtime.simulator.tools import fragments

_FILTER_RESULTS = {"hate": {"filtered": True, "severity": "high"}, "self_harm": {"filtered": False, "severity": "safe"},
                   "sexual": {"filtered": False, "severity": "safe"}, "violence": {"filtered": False, "severity": "safe"}}


def _json(data: dict, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, headers=headers, content_type="application/json")


def _sse(data: dict) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


class OpenAiWire:
    stream_content_type = "text/event-stream"

    def __init__(self, provider: str) -> None:
        self.provider = provider  # "openai_compat" or "azure_openai"
        self.azure = provider == "azure_openai"

    def _id(self, req: SimRequest) -> str:
        return f"chatcmpl-sim-{abs(hash((req.model, req.echo))) % 10**12}"

    def usage(self, u: SimUsage) -> dict:
        prompt = u.input + u.cache_read + u.cache_write
        return {"prompt_tokens": prompt, "completion_tokens": u.output, "total_tokens": prompt + u.output,
                "prompt_tokens_details": {"cached_tokens": u.cache_read, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}

    def error(self, kind: str, req: SimRequest, fault: Fault) -> web.Response:
        if kind == "429":
            wait = fault.param()
            headers = {"retry-after": str(max(1, round(wait))), "retry-after-ms": str(int(wait * 1000)),
                       "x-ratelimit-remaining-requests": "0"}
            message = (f"Requests to the ChatCompletions_Create Operation have exceeded the rate limit. "
                       f"Please retry after {wait:g} seconds.")
            return _json({"error": {"code": "429", "message": message}}, 429, headers)
        if kind == "429-no-retry-after":
            return _json({"error": {"code": "rate_limit_exceeded", "type": "requests",
                                    "message": "Rate limit reached for requests."}}, 429)
        if kind == "context-length":
            message = (f"This model's maximum context length is {max(1, req.prompt_tokens - 1)} tokens. However, "
                       f"your messages resulted in {req.prompt_tokens} tokens. Please reduce the length of the messages.")
            return _json({"error": {"message": message, "type": "invalid_request_error", "param": "messages",
                                    "code": "context_length_exceeded"}}, 400)
        if kind == "401":
            return _json({"error": {"code": "401", "message": "Access denied due to invalid subscription key or "
                                    "wrong API endpoint."}}, 401)
        status = 500 if kind == "500" else 503
        message = "The server had an error while processing your request." if status == 500 else \
            "The service is temporarily unable to process your request."
        return _json({"error": {"message": message, "type": "server_error", "param": None, "code": None}}, status)

    def content_filter(self, req: SimRequest, usage: SimUsage) -> web.Response | list[bytes]:
        if self.azure:  # Azure filters the prompt with a 400 (streaming or not)
            return _json({"error": {
                "message": "The response was filtered due to the prompt triggering Azure OpenAI's content "
                           "management policy. Please modify your prompt and retry.",
                "type": None, "param": "prompt", "code": "content_filter", "status": 400,
                "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": _FILTER_RESULTS}}},
                400)
        usage = SimUsage(input=usage.input, cache_read=usage.cache_read, output=0)
        if not req.stream:
            return self.sync_ok(req, None, usage, "content_filter")
        return [self.stream_start(req), self.stream_end(req, usage, "content_filter", True)]

    def sync_ok(self, req: SimRequest, text: str | None, usage: SimUsage, finish: str) -> web.Response:
        message: dict = {"role": "assistant", "content": text, "refusal": None}
        if req.calls:
            message["content"] = None
            message["tool_calls"] = [{"id": cid, "type": "function", "function": {"name": n, "arguments": a}}
                                     for cid, n, a in req.calls]
        lp = None if req.logprobs is None or req.calls else {"content": _logprobs(req, re.findall(r"\S+\s*", text or "")),
                                                                "refusal": None}
        body = {"id": self._id(req), "object": "chat.completion", "created": int(time.time()), "model": req.model,
                "choices": [{"index": i, "message": message, "logprobs": lp, "finish_reason": finish}
                            for i in range(req.n)],
                "usage": self.usage(usage), "system_fingerprint": "fp_sim"}
        if self.azure:
            body["prompt_filter_results"] = [{"prompt_index": 0, "content_filter_results": {}}]
        return _json(body)

    def _chunk(self, req: SimRequest, delta: dict, finish: str | None) -> dict:
        return {"id": self._id(req), "object": "chat.completion.chunk", "created": int(time.time()),
                "model": req.model, "system_fingerprint": "fp_sim",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    def stream_start(self, req: SimRequest) -> bytes:
        head = b""
        if self.azure:
            head = _sse({"id": "", "object": "", "created": 0, "model": "", "choices": [],
                         "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]})
        return head + _sse(self._chunk(req, {"role": "assistant", "content": "", "refusal": None}, None))

    def stream_chunk(self, req: SimRequest, text: str, index: int) -> bytes:
        out = b""
        for i in range(req.n):  # with n > 1, one chunk per choice, as OpenAI sends them
            chunk = self._chunk(req, {"content": text}, None)
            chunk["choices"][0]["index"] = i
            if req.logprobs is not None:
                chunk["choices"][0]["logprobs"] = {"content": _logprobs(req, [text]), "refusal": None}
            out += _sse(chunk)
        return out

    def stream_end(self, req: SimRequest, usage: SimUsage, finish: str, marker: bool) -> bytes:
        out = b""
        for i in range(1, req.n):
            chunk = self._chunk(req, {}, finish)
            chunk["choices"][0]["index"] = i
            out += _sse(chunk)
        out += _sse(self._chunk(req, {}, finish))
        if req.include_usage:
            last = self._chunk(req, {}, None)
            last["choices"] = []
            last["usage"] = self.usage(usage)
            out += _sse(last)
        return out + (b"data: [DONE]\n\n" if marker else b"")

    def malformed(self, req: SimRequest) -> bytes:
        return b'data: {"id": "chatcmpl-sim", "choices": [{"delta": {"content": "broken\n\n'

    def tool_chunks(self, req: SimRequest) -> list[bytes]:
        """As OpenAI streams tool calls: per call, one chunk with index, id, type, name and empty arguments,
        then the arguments in fragments."""
        out = []
        for i, (cid, name, args) in enumerate(req.calls):
            out.append(_sse(self._chunk(req, {"tool_calls": [{"index": i, "id": cid, "type": "function",
                                                              "function": {"name": name, "arguments": ""}}]}, None)))
            for piece in fragments(args):
                out.append(_sse(self._chunk(req, {"tool_calls": [{"index": i, "function": {"arguments": piece}}]},
                                            None)))
        return out


def _logprobs(req: SimRequest, tokens: list[str]) -> list[dict]:
    """Deterministic per-token entries: logprob = -(characters / 10), the same token as every top choice."""
    def entry(tok: str) -> dict:
        return {"token": tok, "logprob": -len(tok) / 10, "bytes": list(tok.encode())}
    return [{**entry(t), "top_logprobs": [entry(t)] * (req.logprobs or 0)} for t in tokens if t]


def parse(provider: str, model: str, body: dict) -> SimRequest:
    messages = body.get("messages") or []
    texts = [m.get("content") if isinstance(m.get("content"), str) else
             " ".join(p.get("text", "") for p in m.get("content") or [] if isinstance(p, dict)) for m in messages]
    prefix = texts[:-1]
    last_user = next((t for m, t in zip(reversed(messages), reversed(texts), strict=True)
                      if m.get("role") == "user"), "")
    req = SimRequest(provider=provider, model=model, stream=bool(body.get("stream")),
                     prompt_tokens=sum(words(t) for t in texts), prefix_tokens=sum(words(t) for t in prefix),
                     prefix_key=hash(tuple(prefix)), cache_mode="auto",
                     max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"), echo=last_user,
                     include_usage=bool((body.get("stream_options") or {}).get("include_usage")))
    req.tools = [(t["function"]["name"], t["function"].get("parameters")) for t in body.get("tools") or ()
                 if isinstance(t, dict) and isinstance(t.get("function"), dict)]
    choice = body.get("tool_choice")
    req.tool_choice = choice if isinstance(choice, str) or choice is None else (choice.get("function") or {}).get("name")
    if messages and messages[-1].get("role") == "tool":
        req.tool_result = texts[-1] or ""
        req.echo = "result: " + req.tool_result
    if body.get("logprobs"):
        req.logprobs = body.get("top_logprobs") or 0
    req.n = body.get("n") or 1
    rf = body.get("response_format") or {}
    if rf.get("type") == "json_object":
        req.json_schema = {"type": "object"}
    elif rf.get("type") == "json_schema":
        req.json_schema = (rf.get("json_schema") or {}).get("schema") or {"type": "object"}
    return req


OPENAI = OpenAiWire("openai_compat")
AZURE = OpenAiWire("azure_openai")


async def _body(request: web.Request) -> dict:
    try:
        data = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise web.HTTPBadRequest(text='{"error": {"message": "invalid JSON", "code": "invalid_json"}}',
                                 content_type="application/json") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text='{"error": {"message": "body must be an object"}}',
                                 content_type="application/json")
    return data


async def openai_chat(request: web.Request) -> web.StreamResponse:
    body = await _body(request)
    record(request, "openai_compat", str(body.get("model") or ""), body)
    return await serve(request, OPENAI, parse("openai_compat", str(body.get("model") or ""), body))


async def azure_chat(request: web.Request) -> web.StreamResponse:
    if "api-version" not in request.query:
        return _json({"error": {"code": "404", "message": "Resource not found"}}, 404)
    body = await _body(request)
    record(request, "azure_openai", request.match_info["deployment"], body)
    return await serve(request, AZURE, parse("azure_openai", request.match_info["deployment"], body))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/chat/completions", openai_chat)
    app.router.add_post("/openai/deployments/{deployment}/chat/completions", azure_chat)
