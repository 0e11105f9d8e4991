"""Parsing of the extended OpenAI chat surface: tools, tool_choice, tool turns, response_format and the
sampling extras (n, seed, logprobs). Beside parse.py (which calls it); every failure is a 4xx with a
stable code that names the field:

- `invalid_tool_schema`: a tool that is not `{"type": "function", "function": {"name", ...}}`, a bad or
  duplicate name, or `parameters` (or a json_schema's `schema`) that is not a valid JSON Schema object;
- `tool_call_not_found`: a `tool` message whose `tool_call_id` no earlier assistant message made;
- `unknown_tool_choice`: `tool_choice` names a function that is not among `tools`;
- `validation_error`: wrong types elsewhere.

jsonschema is imported only when a request carries a schema: plain chat never pays for it.
"""

import re

import orjson

from skyrelay.runtime.canonical import Message
from skyrelay.runtime.errors import InvalidToolSchema, ToolCallNotFound, UnknownToolChoice, ValidationFailed

EXTENDED_PARAMETERS = frozenset(("tools", "tool_choice", "parallel_tool_calls", "response_format", "n", "seed",
                                 "logprobs", "top_logprobs"))
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CHOICES = ("auto", "none", "required")


def _fail(field: str, problem: str):
    raise ValidationFailed(f"{field}: {problem}")


# Schemas already checked: (the schema's canonical JSON) -> the problem, or None. An agent sends the same
# tools on every turn, and checking a schema against the meta-schema costs ~0.6 ms; a lookup ~2 us.
_CHECKED: dict[bytes, str | None] = {}
_CHECKED_MAX = 1024


def check_schema(field: str, schema) -> None:
    """`schema` must be a JSON Schema object (draft 2020-12, as OpenAI's structured outputs)."""
    if not isinstance(schema, dict):
        raise InvalidToolSchema(f"{field}: must be a JSON Schema object")
    try:
        key = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # keys that are not strings cannot come from JSON: checked below without the cache
        key = None
    problem = _CHECKED.get(key, False) if key is not None else False
    if problem is False:
        problem = _schema_problem(schema)
        if key is not None:
            if len(_CHECKED) >= _CHECKED_MAX:
                _CHECKED.clear()
            _CHECKED[key] = problem
    if problem is not None:
        raise InvalidToolSchema(f"{field}{problem}")


def _schema_problem(schema: dict) -> str | None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        return f"{'/' + where if where else ''}: {exc.message}"
    return None


def parse_tools(raw) -> list[dict] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw:
        raise InvalidToolSchema("tools: must be a non-empty array of function tools")
    tools, seen = [], set()
    for i, t in enumerate(raw):
        f = t.get("function") if isinstance(t, dict) else None
        if not isinstance(t, dict) or t.get("type") != "function" or not isinstance(f, dict):
            raise InvalidToolSchema(f'tools[{i}]: must be {{"type": "function", "function": {{...}}}}')
        name = f.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidToolSchema(f"tools[{i}].function.name: 1-64 letters, digits, _ or -")
        if name in seen:
            raise InvalidToolSchema(f"tools[{i}].function.name: duplicate function {name!r}")
        seen.add(name)
        desc = f.get("description")
        if desc is not None and not isinstance(desc, str):
            raise InvalidToolSchema(f"tools[{i}].function.description: must be a string")
        params = f.get("parameters")
        if params is not None:
            check_schema(f"tools[{i}].function.parameters", params)
            if params.get("type", "object") != "object":
                raise InvalidToolSchema(f'tools[{i}].function.parameters.type: must be "object"')
        strict = f.get("strict")
        if strict is not None and not isinstance(strict, bool):
            raise InvalidToolSchema(f"tools[{i}].function.strict: must be a boolean")
        tools.append({"name": name, "description": desc, "parameters": params, "strict": bool(strict)})
    return tools


def parse_tool_choice(raw, tools: list[dict] | None) -> str | dict | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        if raw not in _CHOICES:
            _fail("tool_choice", 'must be "auto", "none", "required" or {"type": "function", ...}')
        if not tools:  # "auto" / "none" without tools ask for nothing
            if raw == "required":
                _fail("tool_choice", '"required" needs tools')
            return None
        return raw
    f = raw.get("function") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or raw.get("type") != "function" or not isinstance(f, dict) \
            or not isinstance(f.get("name"), str):
        _fail("tool_choice", 'must be "auto", "none", "required" or {"type": "function", "function": {"name"}}')
    if not any(t["name"] == f["name"] for t in tools or ()):
        raise UnknownToolChoice(f"tool_choice.function.name: {f['name']!r} is not among tools")
    return {"name": f["name"]}


def parse_response_format(raw) -> dict | None:
    if raw is None:
        return None
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind != "json_schema":
        _fail("response_format.type", "must be text, json_object or json_schema")
    spec = raw.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not _NAME.match(spec["name"]):
        _fail("response_format.json_schema", "must be an object with a name (1-64 letters, digits, _ or -)")
    schema = spec.get("schema", {"type": "object"})
    check_schema("response_format.json_schema.schema", schema)
    strict = spec.get("strict")
    if strict is not None and not isinstance(strict, bool):
        _fail("response_format.json_schema.strict", "must be a boolean")
    return {"type": "json_schema", "name": spec["name"], "schema": schema, "strict": bool(strict),
            "description": spec.get("description") if isinstance(spec.get("description"), str) else None}


def attach_tool_turns(raw: list, messages: list[Message]) -> None:
    """Sets each message's tool calls (assistant) or answered call (tool), checking every tool message
    answers a call an earlier assistant message made."""
    calls: dict[str, str] = {}  # call id -> function name
    for i, (m, msg) in enumerate(zip(raw, messages, strict=True)):
        tc = m.get("tool_calls")
        if tc is not None and tc != []:  # an empty list (some clients send it) is no calls
            if msg.role != "assistant":
                _fail(f"messages[{i}].tool_calls", "only assistant messages make tool calls")
            msg.tool_calls = []
            for j, c in enumerate(tc if isinstance(tc, list) else [None]):
                f = c.get("function") if isinstance(c, dict) else None
                if not isinstance(c, dict) or not isinstance(c.get("id"), str) or not c["id"] \
                        or not isinstance(f, dict) or not isinstance(f.get("name"), str):
                    _fail(f"messages[{i}].tool_calls[{j}]", 'must be {"id", "type": "function", "function": '
                          '{"name", "arguments"}}')
                args = f.get("arguments", "{}")
                if not isinstance(args, str):
                    _fail(f"messages[{i}].tool_calls[{j}].function.arguments", "must be a JSON string")
                try:
                    orjson.loads(args or "{}")
                except orjson.JSONDecodeError:
                    _fail(f"messages[{i}].tool_calls[{j}].function.arguments", "is not valid JSON")
                calls[c["id"]] = f["name"]
                msg.tool_calls.append({"id": c["id"], "name": f["name"], "arguments": args or "{}"})
        if msg.role == "tool":
            cid = m.get("tool_call_id")
            if not isinstance(cid, str) or not cid:
                _fail(f"messages[{i}].tool_call_id", "required on a tool message")
            if cid not in calls:
                raise ToolCallNotFound(f"messages[{i}].tool_call_id: no earlier assistant message made call {cid!r}")
            msg.tool_call_id, msg.name = cid, calls[cid]


def parse_extras(doc: dict) -> dict:
    """The keyword arguments of ChatRequest for the extended parameters (values that ask for nothing,
    such as `n: 1` or `logprobs: false`, become None)."""
    tools = parse_tools(doc.get("tools"))
    out: dict = {"tools": tools, "tool_choice": parse_tool_choice(doc.get("tool_choice"), tools),
                 "response_format": parse_response_format(doc.get("response_format"))}
    ptc = doc.get("parallel_tool_calls")
    if ptc is not None and not isinstance(ptc, bool):
        _fail("parallel_tool_calls", "must be a boolean")
    out["parallel_tool_calls"] = None if ptc is None or (ptc and not tools) else ptc
    n = doc.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 128):
        _fail("n", "must be an integer between 1 and 128")
    out["n"] = None if n in (None, 1) else n
    seed = doc.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        _fail("seed", "must be an integer")
    out["seed"] = seed
    lp = doc.get("logprobs")
    if lp is not None and not isinstance(lp, bool):
        _fail("logprobs", "must be a boolean")
    out["logprobs"] = lp or None
    top = doc.get("top_logprobs")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= 20):
        _fail("top_logprobs", "must be an integer between 0 and 20")
    out["top_logprobs"] = top or None
    return out
