"""The canonical request, result and usage types every provider translates to and from.

Plain slotted dataclasses: they sit on the hot path, and validation happens once at the API edge.
"""

from dataclasses import dataclass, field, fields
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(slots=True)
class Message:
    role: Role
    content: str
    # Marks the end of a prefix the provider may cache (OpenAI-style `cache_control` on a message).
    cache_hint: bool = False


@dataclass(slots=True)
class ChatRequest:
    """What a caller asks for. `model` is a logical model name from the router config."""

    model: str
    messages: list[Message]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] | None = None
    stream: bool = False
    user: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The body field `max_tokens` came from (`max_tokens` or `max_completion_tokens`), so an error names
    # what the client sent. Not part of the request's meaning (the cache key ignores it).
    max_tokens_field: str = "max_tokens"

    def to_doc(self) -> dict:
        """The request as JSON data, for a job record: it is validated once, at submit."""
        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        doc["messages"] = [{f.name: getattr(m, f.name) for f in fields(m)} for m in self.messages]
        return doc

    @classmethod
    def from_doc(cls, doc: dict) -> "ChatRequest":
        """A stored request (`to_doc`) back, without validating it again."""
        return cls(**{**doc, "messages": [Message(**m) for m in doc["messages"]]})


@dataclass(slots=True)
class Usage:
    """Token usage in one shape for every provider. Cost is computed from this only."""

    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens + self.output_tokens

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            self.input_tokens + other.input_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.output_tokens + other.output_tokens,
        )


FinishReason = Literal["stop", "length", "content_filter", "tool_calls", "error"]


@dataclass(slots=True)
class ChatResult:
    """A complete, non-streamed answer."""

    text: str
    usage: Usage
    finish_reason: FinishReason = "stop"
    provider_model: str = ""


@dataclass(slots=True)
class StreamDelta:
    """One parsed piece of a stream: text, and on the last piece the usage and finish reason."""

    text: str = ""
    usage: Usage | None = None
    finish_reason: FinishReason | None = None
