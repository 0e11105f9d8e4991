"""The OpenAI chat-completions wire format, shared by Azure OpenAI and OpenAI-compatible upstreams."""

import orjson

from skyrelay.runtime.canonical import ChatRequest, ChatResult, StreamDelta, Usage
from skyrelay.runtime.errors import (
    ContentFiltered,
    ContextLengthExceeded,
    ProviderError,
    UpstreamServerError,
)
from skyrelay.runtime.providers.base import Upstream
from skyrelay.runtime.providers.errors_common import by_status
from skyrelay.runtime.providers.request_body import sampling_fields
from skyrelay.runtime.providers.sse import SseSplitter
from skyrelay.runtime.providers.stream_parser import DeferredErrorParser

_FINISH = {"stop": "stop", "length": "length", "content_filter": "content_filter", "tool_calls": "tool_calls",
           "function_call": "tool_calls"}
_CONTEXT_MARKERS = ("maximum context length", "context length", "context_length_exceeded", "too many tokens")


def _message(m) -> dict:
    if m.tool_calls is None and m.tool_call_id is None:
        return {"role": m.role, "content": m.content}
    out: dict = {"role": m.role, "content": m.content}
    if m.tool_calls:
        out["content"] = m.content or None
        out["tool_calls"] = [{"id": c["id"], "type": "function",
                              "function": {"name": c["name"], "arguments": c["arguments"]}} for c in m.tool_calls]
    if m.tool_call_id is not None:
        out["tool_call_id"] = m.tool_call_id
    return out


def tool_fields(request: ChatRequest) -> dict:
    """tools, tool_choice, parallel_tool_calls, response_format and seed in OpenAI's own shape (Azure and
    OpenAI-compatible upstreams take them as they are)."""
    out: dict = {}
    if request.tools:
        tools = []
        for t in request.tools:
            fn: dict = {"name": t["name"]}
            if t.get("description") is not None:
                fn["description"] = t["description"]
            if t.get("parameters") is not None:
                fn["parameters"] = t["parameters"]
            if t.get("strict"):
                fn["strict"] = True
            tools.append({"type": "function", "function": fn})
        out["tools"] = tools
    choice = request.tool_choice
    if choice is not None:
        out["tool_choice"] = choice if isinstance(choice, str) else {"type": "function",
                                                                      "function": {"name": choice["name"]}}
    if request.parallel_tool_calls is not None:
        out["parallel_tool_calls"] = request.parallel_tool_calls
    rf = request.response_format
    if rf is not None:
        if rf["type"] == "json_object":
            out["response_format"] = {"type": "json_object"}
        else:
            spec = {"name": rf["name"], "schema": rf["schema"], "strict": rf["strict"]}
            if rf.get("description"):
                spec["description"] = rf["description"]
            out["response_format"] = {"type": "json_schema", "json_schema": spec}
    if request.seed is not None:
        out["seed"] = request.seed
    if request.n:
        out["n"] = request.n
    if request.logprobs:
        out["logprobs"] = True
        if request.top_logprobs:
            out["top_logprobs"] = request.top_logprobs
    return out


def build_body(request: ChatRequest, model: str | None, stream: bool) -> bytes:
    body: dict = {"messages": [_message(m) for m in request.messages]}
    if model is not None:
        body["model"] = model
    body.update(sampling_fields(request, max_tokens="max_tokens", top_p="top_p", stop="stop"))
    if request.user:
        body["user"] = request.user
    if request.tools or request.response_format or request.seed is not None or request.tool_choice \
            or request.logprobs or request.n:
        body.update(tool_fields(request))
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return orjson.dumps(body)


def usage_of(raw: dict | None) -> Usage:
    """OpenAI `prompt_tokens` includes cached tokens; canonical input excludes them."""
    if not raw:
        return Usage()
    prompt = raw.get("prompt_tokens") or 0
    details = raw.get("prompt_tokens_details") or {}
    cached = details.get("cached_tokens") or 0
    return Usage(input_tokens=prompt - cached, cache_read_tokens=cached,
                 output_tokens=raw.get("completion_tokens") or 0)


def parse_body(body: bytes, fallback_model: str) -> ChatResult:
    try:
        data = orjson.loads(body)
        choices = sorted(data["choices"], key=lambda c: c.get("index") or 0)
        choice = choices[0]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise UpstreamServerError(f"malformed chat completion: {exc}") from None
    result = _choice(choice, data, fallback_model)
    if len(choices) > 1:  # n > 1
        result.choices = [_choice(c, {}, fallback_model) for c in choices[1:]]
    return result


def _choice(choice: dict, data: dict, fallback_model: str) -> ChatResult:
    message = choice.get("message") or {}
    text = message.get("content") or ""
    finish = _FINISH.get(choice.get("finish_reason") or "stop", "stop")
    if finish == "content_filter" and not text:
        raise ContentFiltered("the upstream content filter blocked the completion")
    calls = None
    if message.get("tool_calls"):
        try:
            calls = [{"id": c["id"], "name": c["function"]["name"], "arguments": c["function"].get("arguments") or ""}
                     for c in message["tool_calls"]]
        except (KeyError, TypeError) as exc:
            raise UpstreamServerError(f"malformed tool call: {exc}") from None
    lp = choice.get("logprobs")
    return ChatResult(text=text, usage=usage_of(data.get("usage")), finish_reason=finish,
                      provider_model=data.get("model") or fallback_model, tool_calls=calls,
                      logprobs=lp.get("content") if isinstance(lp, dict) else None)


def tool_pieces(raw) -> list[dict]:
    """A chunk's `delta.tool_calls` as canonical pieces (index, id and name on a call's first piece)."""
    pieces = []
    try:
        for c in raw:
            fn = c.get("function") or {}
            piece = {"index": int(c["index"]), "arguments": fn.get("arguments") or ""}
            if c.get("id"):
                piece["id"] = c["id"]
            if fn.get("name"):
                piece["name"] = fn["name"]
            pieces.append(piece)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise UpstreamServerError("malformed tool call chunk from upstream") from None
    return pieces


def error_from(status: int, headers: dict[str, str], body: bytes) -> ProviderError:
    err: dict = {}
    try:
        data = orjson.loads(body) if body else {}
        err = data.get("error") or {} if isinstance(data, dict) else {}
        if not isinstance(err, dict):
            err = {"message": str(err)}
    except orjson.JSONDecodeError:
        pass
    code = str(err.get("code") or "")
    message = str(err.get("message") or body[:200].decode("utf-8", "replace") or f"status {status}")
    low = message.lower()
    if code == "context_length_exceeded" or (status == 400 and any(m in low for m in _CONTEXT_MARKERS)):
        return ContextLengthExceeded(message, upstream_status=status)
    inner = err.get("innererror") or {}
    if code == "content_filter" or (isinstance(inner, dict) and inner.get("code") == "ResponsibleAIPolicyViolation"):
        return ContentFiltered(message, upstream_status=status)
    return by_status(status, headers, message, upstream_status=status)


class OpenAiStreamParser(DeferredErrorParser):
    """SSE `chat.completion.chunk`s to deltas; the final delta carries usage and finish reason."""

    __slots__ = ("_sse", "_finish", "_usage")

    def __init__(self) -> None:
        super().__init__()
        self._sse = SseSplitter()
        self._finish: str | None = None
        self._usage: Usage | None = None

    def _feed(self, chunk: bytes, out: list[StreamDelta]) -> None:
        for data in self._sse.feed(chunk):
            if self._done:
                continue
            if data == b"[DONE]":
                self._done = True
                if self._finish == "content_filter" and not self._saw_text:
                    raise ContentFiltered("the upstream content filter blocked the completion")
                out.append(StreamDelta(usage=self._usage or Usage(), finish_reason=self._finish or "stop"))
                continue
            try:
                obj = orjson.loads(data)
            except orjson.JSONDecodeError:
                raise UpstreamServerError("malformed stream chunk from upstream") from None
            if not isinstance(obj, dict):
                raise UpstreamServerError("malformed stream chunk from upstream")
            if "error" in obj:
                err = obj["error"] if isinstance(obj["error"], dict) else {"message": str(obj["error"])}
                status = int(err.get("status") or (429 if err.get("code") in ("429", "rate_limit_exceeded") else 500))
                raise error_from(status, {}, orjson.dumps({"error": err}))
            usage = obj.get("usage")
            if usage:
                self._usage = usage_of(usage)
            for choice in obj.get("choices") or ():
                if choice.get("index"):  # n > 1: another choice, relayed with its index
                    out.append(self._other(choice))
                    continue
                delta = choice.get("delta") or {}
                text = delta.get("content")
                if text:
                    self._saw_text = True
                    lp = choice.get("logprobs")
                    out.append(StreamDelta(text=text, logprobs=lp.get("content") if isinstance(lp, dict) else None))
                if delta.get("tool_calls"):
                    self._saw_text = True
                    out.append(StreamDelta(tool_calls=tool_pieces(delta["tool_calls"])))
                reason = choice.get("finish_reason")
                if reason:
                    self._finish = _FINISH.get(reason, "stop")

    def _other(self, choice: dict) -> StreamDelta:
        delta = choice.get("delta") or {}
        lp = choice.get("logprobs")
        reason = choice.get("finish_reason")
        self._saw_text = True
        index = choice["index"]
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise UpstreamServerError("malformed stream chunk from upstream: choice index")
        return StreamDelta(text=delta.get("content") or "", choice=index,
                           tool_calls=tool_pieces(delta["tool_calls"]) if delta.get("tool_calls") else None,
                           logprobs=lp.get("content") if isinstance(lp, dict) else None,
                           finish_reason=_FINISH.get(reason, "stop") if reason else None)

    def close(self) -> None:
        self._raise_pending()
        if not self._done:
            raise UpstreamServerError("stream ended without the [DONE] marker")


class OpenAiWireAdapter:
    """What every adapter speaking this wire shares: the response, stream and error parsing.
    Subclasses add `kind` and `build` (the URL and auth differ per provider)."""

    @staticmethod
    def headers(stream: bool) -> dict[str, str]:
        return {"content-type": "application/json", "accept": "text/event-stream" if stream else "application/json"}

    def parse(self, upstream: Upstream, status: int, headers: dict[str, str], body: bytes) -> ChatResult:
        return parse_body(body, upstream.model)

    def stream_parser(self, upstream: Upstream) -> OpenAiStreamParser:
        return OpenAiStreamParser()

    def error(self, status: int, headers: dict[str, str], body: bytes) -> ProviderError:
        return error_from(status, headers, body)


# ---- embeddings (POST .../embeddings), the same on Azure and OpenAI-compatible upstreams: vectors asked as
# base64 (what the openai SDK asks for), one string per vector to parse ----


def embeddings_body(inputs: list[str], dimensions: int | None, model: str | None) -> bytes:
    body: dict = {"input": inputs, "encoding_format": "base64"}
    if model is not None:
        body["model"] = model
    if dimensions is not None:
        body["dimensions"] = dimensions
    return orjson.dumps(body)


def parse_embeddings(headers, body: bytes) -> tuple[list, int]:
    """(vectors in input order: base64 strings, or float lists from an upstream that ignored the format,
    prompt tokens) of an OpenAI embeddings answer (Azure's too)."""
    try:
        data = orjson.loads(body)
        rows = sorted(data["data"], key=lambda d: d["index"])
        return [r["embedding"] for r in rows], int((data.get("usage") or {}).get("prompt_tokens") or 0)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise UpstreamServerError(f"malformed embeddings response: {exc}") from None
