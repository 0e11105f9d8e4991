"""Parsing of an OpenAI-style chat completions body into the canonical request: hand-written
validation that names the offending field (every failure is a 400 with a stable code).

It sits beside canonical.py, below the API and the jobs: the chat route, job submit (and batch
lines) validate here once; the job worker rebuilds a stored request with `ChatRequest.from_doc`,
without validating it again. No web framework here.
"""

import orjson

from skyrelay.runtime.canonical import ChatRequest, Message
from skyrelay.runtime.errors import InvalidJson, NestingTooDeep, UnsupportedParameter, ValidationFailed
from skyrelay.runtime.parse_tools import EXTENDED_PARAMETERS, attach_tool_turns, parse_extras

ROLES = frozenset(("system", "user", "assistant", "tool", "developer"))
# The chat parameters the router honours. Anything else is refused (`unsupported_parameter`), on
# /v1/chat/completions and /v1/jobs alike, rather than silently dropped.
CHAT_PARAMETERS = frozenset(("model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p",
                             "stop", "stream", "stream_options", "user"))
# The chat route also takes the extended surface (parse_tools.py); jobs do not (their result has no tool
# calls), so for them these stay refused by CHAT_PARAMETERS.
CHAT_ROUTE_PARAMETERS = CHAT_PARAMETERS | EXTENDED_PARAMETERS
# Values that ask for nothing the router would have to do (clients often send them explicitly): accepted.
NO_OP = {"n": 1, "logprobs": False, "presence_penalty": 0, "frequency_penalty": 0}
# JSON nested deeper than this is refused at parse on every route: far above any real request, and far
# below orjson's encoding limit (254), so a job document that embeds the body can always be written.
MAX_DEPTH = 32


def _fail(field: str, problem: str):
    raise ValidationFailed(f"{field}: {problem}")


def _too_deep(value, room: int) -> list | None:
    """The keys leading to the first container nested beyond `room` more levels (innermost first), or None."""
    if isinstance(value, dict):
        if not room:
            return []
        items = value.items()
    elif isinstance(value, list):
        if not room:
            return []
        items = enumerate(value)
    else:
        return None
    for key, v in items:
        if isinstance(v, dict | list):
            path = _too_deep(v, room - 1)
            if path is not None:
                path.append(key)
                return path
    return None


def load_json(body: bytes):
    """The request body as JSON, for every route: 400 `invalid_json`, or 400 `nesting_too_deep` naming the
    field whose value is nested more than MAX_DEPTH levels."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidJson("request body is not valid JSON") from None
    if isinstance(body, bytes | bytearray) and body.count(b"{") + body.count(b"[") <= MAX_DEPTH:
        return doc  # no deeper than its brackets (brackets in strings only overcount): no walk needed
    path = _too_deep(doc, MAX_DEPTH)
    if path is not None:
        path.reverse()  # outermost first: the field is the top-level key, or `messages[i].<key>`
        if not path or not isinstance(path[0], str):
            name = "body"
        elif len(path) > 2 and isinstance(path[1], int) and isinstance(path[2], str):
            name = f"{path[0]}[{path[1]}].{path[2]}"
        else:
            name = path[0]
        raise NestingTooDeep(f"{name}: nested more than {MAX_DEPTH} levels deep")
    return doc


def check_parameters(doc: dict, honoured: frozenset[str]) -> None:
    """400 `unsupported_parameter` naming the first parameter outside `honoured` (null, or a NO_OP value, is
    accepted as not given). The one check for chat and jobs."""
    if doc.keys() <= honoured:  # the usual case, decided in C
        return
    for name in sorted(doc.keys() - honoured):
        if not _asks_nothing(name, doc[name]):
            raise UnsupportedParameter(f"{name}: not supported by this router")


def _asks_nothing(name: str, value) -> bool:
    if value is None:
        return True
    if name not in NO_OP:
        return False
    want = NO_OP[name]
    if isinstance(want, bool):
        return value is want
    return isinstance(value, int | float) and not isinstance(value, bool) and value == want


def _max_tokens(doc: dict) -> tuple[int | None, str]:
    """(value, the field it came from). `max_completion_tokens` (OpenAI's current name) or `max_tokens`;
    null is "not given"; an integer-valued number such as 663.0 is that integer."""
    value, field = None, "max_tokens"
    for name in ("max_completion_tokens", "max_tokens"):
        v = doc.get(name)
        if v is None:
            continue
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            _fail(name, "must be a positive integer")
        if value is None:
            value, field = v, name
        elif v != value:
            _fail(name, f"conflicts with {field} ({value}); give one of them")
    return value, field


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
    check_parameters(doc, CHAT_ROUTE_PARAMETERS)
    model = doc.get("model")
    if not isinstance(model, str) or not model:
        _fail("model", "must be a non-empty string")
    raw = doc.get("messages")
    if not isinstance(raw, list) or not raw:
        _fail("messages", "must be a non-empty array")
    messages = []
    tool_turns = False
    for i, m in enumerate(raw):
        if not isinstance(m, dict):
            _fail(f"messages[{i}]", "must be an object")
        role = m.get("role")
        if not isinstance(role, str) or role not in ROLES:
            _fail(f"messages[{i}].role", "must be one of system, user, assistant, tool")
        content = m.get("content")
        messages.append(Message("system" if role == "developer" else role,
                                content if type(content) is str else _content(i, content), "cache_control" in m))
        tool_turns = tool_turns or role == "tool" or "tool_calls" in m
    max_tokens, max_tokens_field = _max_tokens(doc)
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
    extras = parse_extras(doc) if not doc.keys().isdisjoint(EXTENDED_PARAMETERS) else {}
    if tool_turns:
        attach_tool_turns(raw, messages)
    req = ChatRequest(model, messages, max_tokens, _number(doc, "temperature", 0, 2), _number(doc, "top_p", 0, 1),
                      stop, stream, user, max_tokens_field=max_tokens_field, **extras)
    return req, include_usage
