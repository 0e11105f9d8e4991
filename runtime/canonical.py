"""The canonical request, result and usage types every provider translates to and from.

Plain slotted dataclasses: they sit on the hot path, and validation happens once at the API edge.
"""

from dataclasses import MISSING, dataclass, field, fields
from operator import attrgetter
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(slots=True)
class Message:
    role: Role
    content: str
    # Marks the end of a prefix the provider may cache (OpenAI-style `cache_control` on a message).
    cache_hint: bool = False
    # An assistant turn's tool calls: [{"id", "name", "arguments"}] (arguments: the JSON text, as OpenAI
    # sends it). Plain dicts, so a stored job request stays JSON data.
    tool_calls: list[dict] | None = None
    # A tool turn: the id of the call it answers, and that call's function name (resolved at parse:
    # Gemini's functionResponse needs the name, OpenAI's tool message carries only the id).
    tool_call_id: str | None = None
    name: str | None = None


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
    # The rest of the OpenAI surface (runtime/parse.py validates; runtime/providers/<kind> translate or
    # refuse; docs/router.md has the table). tools: [{"name", "description", "parameters", "strict"}];
    # tool_choice: "auto" | "none" | "required" | {"name": ...}; response_format: {"type": "json_object"}
    # or {"type": "json_schema", "name", "schema", "strict"}.
    tools: list[dict] | None = None
    tool_choice: str | dict | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict | None = None
    n: int | None = None
    seed: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None

    def to_doc(self) -> dict:
        """The request as JSON data, for a job record: it is validated once, at submit."""
        doc = {name: getattr(self, name) for name in _REQUEST_FIELDS}
        doc["messages"] = [{name: getattr(m, name) for name in _MESSAGE_FIELDS} for m in self.messages]
        return doc

    def to_compact_doc(self) -> dict:
        """`to_doc` without the fields that hold their default (`from_doc` restores them): about half
        the bytes, and half the work to read back, for the batch chunks that carry 50,000 of them."""
        doc = _without_defaults(_REQUEST_FIELDS, _request_values(self), _REQUEST_DEFAULTS)
        doc["messages"] = [_without_defaults(_MESSAGE_FIELDS, _message_values(m), _MESSAGE_DEFAULTS)
                           for m in self.messages]
        return doc

    @classmethod
    def from_doc(cls, doc: dict) -> "ChatRequest":
        """A stored request (`to_doc` or `to_compact_doc`) back, without validating it again."""
        request = cls(**doc)
        request.messages = [Message(**m) for m in request.messages]
        return request


def _defaults(cls) -> tuple:
    """The default per field, in field order; a required field gets a sentinel no value equals (always kept)."""
    return tuple(f.default if f.default is not MISSING else
                 f.default_factory() if f.default_factory is not MISSING else _REQUIRED for f in fields(cls))


def _without_defaults(names: tuple, values: tuple, defaults: tuple) -> dict:
    """A field is left out only when it holds its default exactly (same type: 0 is not False, [] not None)."""
    return {name: v for name, v, default in zip(names, values, defaults, strict=True)
            if v is not default and not (type(v) is type(default) and v == default)}


_REQUIRED = object()
_REQUEST_FIELDS = tuple(f.name for f in fields(ChatRequest))
_MESSAGE_FIELDS = tuple(f.name for f in fields(Message))
_REQUEST_DEFAULTS = _defaults(ChatRequest)
_MESSAGE_DEFAULTS = _defaults(Message)
_request_values = attrgetter(*_REQUEST_FIELDS)  # every field's value in one C call
_message_values = attrgetter(*_MESSAGE_FIELDS)


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
    tool_calls: list[dict] | None = None  # [{"id", "name", "arguments"}], in the order the model made them
    logprobs: list[dict] | None = None  # OpenAI's `logprobs.content` entries, when the request asked for them
    choices: list["ChatResult"] | None = None  # with `n` > 1: choices 1..n-1 (their usage is in this one's)


@dataclass(slots=True)
class StreamDelta:
    """One parsed piece of a stream: text, and on the last piece the usage and finish reason.

    `tool_calls` carries tool-call pieces in OpenAI's chunk shape: [{"index", "id"?, "name"?,
    "arguments"}], id and name on a call's first piece, argument fragments after."""

    text: str = ""
    usage: Usage | None = None
    finish_reason: FinishReason | None = None
    tool_calls: list[dict] | None = None
    logprobs: list[dict] | None = None  # the `logprobs.content` entries of this piece's text
    # With `n` > 1, the choice this piece belongs to. A piece of choice > 0 carries its own finish reason
    # (the stream's last delta, with usage, is choice 0's).
    choice: int = 0


def gather_tool_calls(pieces: list[dict], into: dict[int, dict] | None = None) -> dict[int, dict]:
    """Streamed tool-call pieces (StreamDelta.tool_calls) folded into whole calls by index: the id and name
    of a call's first piece, its argument fragments joined. One helper for every place that turns a
    stream into an answer (the router's non-streamed read, the cache, the tests)."""
    calls = {} if into is None else into
    for p in pieces:
        call = calls.get(p["index"])
        if call is None:
            calls[p["index"]] = {"id": p.get("id") or "", "name": p.get("name") or "",
                                 "arguments": p.get("arguments") or ""}
            continue
        if p.get("id") and not call["id"]:
            call["id"] = p["id"]
        if p.get("name") and not call["name"]:
            call["name"] = p["name"]
        call["arguments"] += p.get("arguments") or ""
    return calls


@dataclass(slots=True)
class EmbeddingRequest:
    """POST /v1/embeddings, canonical: the texts to embed (a string input is a list of one)."""

    model: str
    inputs: list[str]
    dimensions: int | None = None
    user: str | None = None


@dataclass(slots=True)
class EmbeddingResult:
    """One vector per input, in input order, and the input tokens the provider counted. A vector is a list
    of floats, or a base64 string of little-endian float32 (as OpenAI and Azure send it when asked)."""

    vectors: list
    input_tokens: int = 0
