"""Parsing of an OpenAI-style chat completions body into the canonical request: hand-written
validation that names the offending field (every failure is a ValidationFailed, a 4xx).

No web framework here: the job worker parses stored job requests with it, and a worker's cold
start should not pay for starlette (runtime/api/chat.py re-exports `parse_chat` for the API).
"""

from skyrelay.runtime.canonical import ChatRequest, Message
from skyrelay.runtime.errors import ValidationFailed

ROLES = frozenset(("system", "user", "assistant", "tool", "developer"))


def _fail(field: str, problem: str):
    raise ValidationFailed(f"{field}: {problem}")


def _content(i: int, content) -> str:
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    if isinstance(content, list):
        parts = []
        for j, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                _fail(f"messages[{i}].content[{j}]", "only text parts are supported")
            parts.append(part["text"])
        return "".join(parts)
    _fail(f"messages[{i}].content", "must be a string or an array of text parts")


def _number(doc: dict, name: str, lo: float, hi: float) -> float | None:
    v = doc.get(name)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
        _fail(name, f"must be a number between {lo:g} and {hi:g}")
    return v


def parse_chat(doc) -> tuple[ChatRequest, bool]:
    """The canonical request and whether the caller asked for a usage chunk in the stream."""
    if not isinstance(doc, dict):
        _fail("body", "must be a JSON object")
    model = doc.get("model")
    if not isinstance(model, str) or not model:
        _fail("model", "must be a non-empty string")
    raw = doc.get("messages")
    if not isinstance(raw, list) or not raw:
        _fail("messages", "must be a non-empty array")
    messages = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict):
            _fail(f"messages[{i}]", "must be an object")
        role = m.get("role")
        if not isinstance(role, str) or role not in ROLES:
            _fail(f"messages[{i}].role", "must be one of system, user, assistant, tool")
        messages.append(Message("system" if role == "developer" else role, _content(i, m.get("content")),
                                "cache_control" in m))
    max_tokens = doc.get("max_completion_tokens", doc.get("max_tokens"))
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1):
        _fail("max_tokens", "must be a positive integer")
    stop = doc.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    elif stop is not None and (not isinstance(stop, list) or len(stop) > 4 or not all(isinstance(s, str) for s in stop)):
        _fail("stop", "must be a string or an array of up to 4 strings")
    stream = doc.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        _fail("stream", "must be a boolean")
    user = doc.get("user")
    if user is not None and not isinstance(user, str):
        _fail("user", "must be a string")
    opts = doc.get("stream_options")
    include_usage = False
    if opts is not None:
        if not isinstance(opts, dict) or not isinstance(opts.get("include_usage", False), bool):
            _fail("stream_options", "must be an object with a boolean include_usage")
        include_usage = opts.get("include_usage", False)
    req = ChatRequest(model, messages, max_tokens, _number(doc, "temperature", 0, 2), _number(doc, "top_p", 0, 1),
                      stop, stream, user)
    return req, include_usage
