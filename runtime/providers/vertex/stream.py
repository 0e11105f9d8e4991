"""`streamGenerateContent?alt=sse` chunks to deltas; the chunk with `finishReason` ends the stream."""

import orjson

from skyrelay.runtime.canonical import StreamDelta, Usage
from skyrelay.runtime.errors import ContentFiltered, UpstreamServerError
from skyrelay.runtime.providers.sse import SseSplitter
from skyrelay.runtime.providers.stream_parser import DeferredErrorParser
from skyrelay.runtime.providers.vertex.chat import (
    candidate_text,
    check_prompt_blocked,
    finish_of,
    logprobs_of,
    usage_of,
)
from skyrelay.runtime.providers.vertex.errors import error_from
from skyrelay.runtime.providers.vertex.tools import calls_of


class VertexStreamParser(DeferredErrorParser):
    __slots__ = ("_sse", "_usage", "_calls")

    def __init__(self) -> None:
        super().__init__()
        self._sse = SseSplitter()
        self._usage: Usage | None = None
        self._calls = 0  # tool calls seen: Gemini sends each whole, numbered here as OpenAI's index

    def _feed(self, chunk: bytes, out: list[StreamDelta]) -> None:
        for data in self._sse.feed(chunk):
            if self._done:
                continue
            try:
                obj = orjson.loads(data)
            except orjson.JSONDecodeError:
                raise UpstreamServerError("malformed stream chunk from Vertex") from None
            if not isinstance(obj, dict):
                raise UpstreamServerError("malformed stream chunk from Vertex")
            if "error" in obj:
                raise error_from(500, {}, data)
            check_prompt_blocked(obj)
            if obj.get("usageMetadata"):
                self._usage = usage_of(obj["usageMetadata"])
            candidates = obj.get("candidates") or ()
            if not candidates:
                continue
            candidate = candidates[0]
            text = candidate_text(candidate)
            calls = calls_of((candidate.get("content") or {}).get("parts"), self._calls)
            pieces = None
            if calls:
                pieces = [{**c, "index": self._calls + i} for i, c in enumerate(calls)]
                self._calls += len(calls)
                self._saw_text = True
            reason = candidate.get("finishReason")
            if reason:
                finish = finish_of(reason)
                if finish == "content_filter" and not (self._saw_text or text):
                    raise ContentFiltered(f"Vertex finishReason {reason}")
                if self._calls and finish == "stop":
                    finish = "tool_calls"
                self._done = True
                out.append(StreamDelta(text=text, usage=self._usage or Usage(), finish_reason=finish,
                                       tool_calls=pieces, logprobs=logprobs_of(candidate) if text else None))
            elif text or pieces:
                self._saw_text = True
                out.append(StreamDelta(text=text, tool_calls=pieces, logprobs=logprobs_of(candidate)))

    def close(self) -> None:
        self._raise_pending()
        if not self._done:
            raise UpstreamServerError("Vertex stream ended without a finishReason")
