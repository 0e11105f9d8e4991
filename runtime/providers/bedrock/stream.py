"""ConverseStream events to deltas. The end marker is the `metadata` event after `messageStop`."""

import orjson

from skyrelay.runtime.canonical import StreamDelta
from skyrelay.runtime.errors import ContentFiltered, UpstreamServerError
from skyrelay.runtime.providers.bedrock.chat import STOP_REASONS, usage_of
from skyrelay.runtime.providers.bedrock.errors import from_type
from skyrelay.runtime.providers.bedrock.eventstream import EventStreamDecoder
from skyrelay.runtime.providers.bedrock.tools import StreamTools
from skyrelay.runtime.providers.stream_parser import DeferredErrorParser


class BedrockStreamParser(DeferredErrorParser):
    __slots__ = ("_dec", "_finish", "_tools")

    def __init__(self) -> None:
        super().__init__()
        self._dec = EventStreamDecoder()
        self._finish: str | None = None
        self._tools = StreamTools()

    def _feed(self, chunk: bytes, out: list[StreamDelta]) -> None:
        for frame in self._dec.feed(chunk):
            headers = frame.headers
            mtype = headers.get(":message-type")
            if mtype == "exception" or mtype == "error":
                kind = str(headers.get(":exception-type") or headers.get(":error-code") or "")
                try:
                    message = str(orjson.loads(frame.payload).get("message", ""))
                except (orjson.JSONDecodeError, AttributeError):
                    message = str(headers.get(":error-message") or "")
                raise from_type(kind, message or kind, 500, {})
            event = headers.get(":event-type")
            try:
                payload = orjson.loads(frame.payload) if frame.payload else {}
            except orjson.JSONDecodeError:
                raise UpstreamServerError("malformed ConverseStream event payload") from None
            if event == "contentBlockDelta":
                text = (payload.get("delta") or {}).get("text")
                if text:
                    self._saw_text = True
                    out.append(StreamDelta(text=text))
                elif "toolUse" in (payload.get("delta") or {}):
                    text, piece = self._tools.delta(payload)
                    self._saw_text = True
                    out.append(StreamDelta(text=text or "", tool_calls=[piece] if piece else None))
            elif event == "contentBlockStart":
                piece = self._tools.start(payload)
                if piece is not None:
                    self._saw_text = True
                    out.append(StreamDelta(tool_calls=[piece]))
            elif event == "messageStop":
                self._finish = STOP_REASONS.get(payload.get("stopReason") or "end_turn", "stop")
                if self._tools.structured and self._finish == "tool_calls":
                    self._finish = "stop"
                if self._finish == "content_filter" and not self._saw_text:
                    raise ContentFiltered(f"Bedrock stopped with {payload.get('stopReason')}")
            elif event == "metadata":
                if self._finish is None:
                    raise UpstreamServerError("ConverseStream metadata before messageStop")
                self._done = True
                out.append(StreamDelta(usage=usage_of(payload.get("usage")), finish_reason=self._finish))

    def close(self) -> None:
        self._raise_pending()
        self._dec.check()
        if not self._done:
            raise UpstreamServerError("ConverseStream ended without messageStop/metadata")
