"""`streamGenerateContent?alt=sse` chunks to deltas; the chunk with `finishReason` ends the stream."""

import orjson
from skyrelay.runtime.canonical import StreamDelta, Usage
from skyrelay.runtime.errors import ContentFiltered, ProviderError, UpstreamServerError
from skyrelay.runtime.providers.sse import SseSplitter
from skyrelay.runtime.providers.vertex.chat import candidate_text, check_prompt_blocked, finish_of, usage_of
from skyrelay.runtime.providers.vertex.errors import error_from


class VertexStreamParser:
    __slots__ = ("_sse", "_usage", "_done", "_saw_text", "_error")

    def __init__(self) -> None:
        self._sse = SseSplitter()
        self._usage: Usage | None = None
        self._done = False
        self._saw_text = False
        self._error: ProviderError | None = None

    def feed(self, chunk: bytes) -> list[StreamDelta]:
        if self._error is not None:
            raise self._error
        out: list[StreamDelta] = []
        try:
            self._feed(chunk, out)
        except ProviderError as exc:
            if not out:
                raise
            self._error = exc  # deliver what came before the bad chunk; raise on the next call
        return out

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
            reason = candidate.get("finishReason")
            if reason:
                finish = finish_of(reason)
                if finish == "content_filter" and not (self._saw_text or text):
                    raise ContentFiltered(f"Vertex finishReason {reason}")
                self._done = True
                out.append(StreamDelta(text=text, usage=self._usage or Usage(), finish_reason=finish))
            elif text:
                self._saw_text = True
                out.append(StreamDelta(text=text))

    def close(self) -> None:
        if self._error is not None:
            raise self._error
        if not self._done:
            raise UpstreamServerError("Vertex stream ended without a finishReason")
