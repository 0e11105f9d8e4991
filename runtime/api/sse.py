"""OpenAI-compatible SSE framing for chat completion chunks, built from pre-encoded byte pieces."""

import orjson

from skyrelay.runtime.api.errors import error_doc
from skyrelay.runtime.canonical import Usage
from skyrelay.runtime.errors import ProviderError

DONE = b"data: [DONE]\n\n"


def usage_doc(u: Usage) -> dict:
    prompt = u.input_tokens + u.cache_read_tokens + u.cache_write_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": u.output_tokens,
        "total_tokens": prompt + u.output_tokens,
        # cached_tokens: OpenAI's name for cache reads; cache_write_tokens: the prefix written to the
        # provider's cache (Bedrock), billed at its cache-write price (docs/readiness.md, point 3).
        "prompt_tokens_details": {"cached_tokens": u.cache_read_tokens, "cache_write_tokens": u.cache_write_tokens},
    }


def tool_call_pieces(pieces: list[dict]) -> list[dict]:
    out = []
    for p in pieces:
        doc: dict = {"index": p["index"]}
        fn: dict = {}
        if p.get("id"):
            doc["id"] = p["id"]
            doc["type"] = "function"
        if p.get("name"):
            fn["name"] = p["name"]
        fn["arguments"] = p.get("arguments") or ""
        doc["function"] = fn
        out.append(doc)
    return out


def message_doc(text: str, tool_calls: list[dict] | None) -> dict:
    """The assistant message of a non-streamed answer: content null when the model only called tools."""
    if not tool_calls:
        return {"role": "assistant", "content": text}
    return {"role": "assistant", "content": text or None,
            "tool_calls": [{"id": c["id"], "type": "function", "function": {"name": c["name"],
                                                                             "arguments": c["arguments"]}}
                           for c in tool_calls]}


class ChunkWriter:
    """Encodes chunks of one completion; the id, model and timestamp are shared by all of them."""

    __slots__ = ("head",)

    def __init__(self, completion_id: str, created: int, model: str):
        self.head = (
            b'data: {"id":' + orjson.dumps(completion_id) + b',"object":"chat.completion.chunk","created":'
            + str(created).encode() + b',"model":' + orjson.dumps(model) + b',"system_fingerprint":null,'
        )

    def role(self) -> bytes:
        return self.head + b'"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n'

    def text(self, text: str, logprobs: list | None = None) -> bytes:
        if logprobs is not None:  # the piece's per-token entries, as the upstream sent them
            return (self.head + b'"choices":[{"index":0,"delta":{"content":' + orjson.dumps(text)
                    + b'},"logprobs":' + orjson.dumps({"content": logprobs, "refusal": None})
                    + b',"finish_reason":null}]}\n\n')
        return (self.head + b'"choices":[{"index":0,"delta":{"content":' + orjson.dumps(text)
                + b'},"finish_reason":null}]}\n\n')

    def tool_calls(self, pieces: list[dict]) -> bytes:
        """Tool-call pieces in OpenAI's chunk shape: index, then id, type and name on a call's first piece,
        and argument fragments."""
        return (self.head + b'"choices":[{"index":0,"delta":{"tool_calls":' + orjson.dumps(tool_call_pieces(pieces))
                + b'},"finish_reason":null}]}\n\n')

    def other(self, delta) -> bytes:
        """A piece of choice `delta.choice` > 0 (n > 1), with its finish reason when it has one."""
        d: dict = {}
        if delta.text:
            d["content"] = delta.text
        if delta.tool_calls:
            d["tool_calls"] = tool_call_pieces(delta.tool_calls)
        choice: dict = {"index": delta.choice, "delta": d, "finish_reason": delta.finish_reason}
        if delta.logprobs is not None:
            choice["logprobs"] = {"content": delta.logprobs, "refusal": None}
        return self.head + b'"choices":[' + orjson.dumps(choice) + b"]}\n\n"

    def finish(self, reason: str) -> bytes:
        return self.head + b'"choices":[{"index":0,"delta":{},"finish_reason":' + orjson.dumps(reason) + b"}]}\n\n"

    def usage(self, u: Usage) -> bytes:
        return self.head + b'"choices":[],"usage":' + orjson.dumps(usage_doc(u)) + b"}\n\n"


def error_event(exc: ProviderError) -> bytes:
    """Ends a committed stream that failed upstream: an SSE `error` event (the JSON error's object: code,
    fixed sentence, request id), and no [DONE] after it."""
    return b"event: error\ndata: " + orjson.dumps({"error": error_doc(exc)}) + b"\n\n"
