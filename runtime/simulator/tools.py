"""What the simulated model does with tools and structured output, the same on every wire format.

Deterministic, so tests can predict it:
- when the last turn is a tool result, the model answers in text: `result: <the tool's output>`;
- otherwise, with tools offered and tool choice not `none`: it calls every offered tool whose name appears
  in the last user message (several: parallel calls), else the forced one (`required`: the first tool, a
  named choice: that tool); with `auto` and no name mentioned it answers in text;
- arguments, and a `response_format` answer, are an example value of the schema (`example`): the first
  enum value, "sim" for strings, 1 for integers, true for booleans, every property of an object;
- the `invalid-json` fault makes a structured answer (or a tool call's arguments) unparseable.
"""

import orjson

from skyrelay.runtime.simulator.engine import SimRequest


def example(schema: dict | None, depth: int = 0):
    """An example value valid for `schema` (JSON Schema, or Vertex's upper-case OpenAPI subset)."""
    if not isinstance(schema, dict) or depth > 8:
        return {}
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return example(schema[key][0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    kind = (kind or ("object" if "properties" in schema else "string")).lower()
    if kind == "object":
        return {k: example(v, depth + 1) for k, v in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [example(schema.get("items"), depth + 1)] * max(1, int(schema.get("minItems") or 1))
    return {"string": "sim", "integer": 1, "number": 1.5, "boolean": True, "null": None}.get(kind, "sim")


def decide(req: SimRequest) -> list[tuple[str, str]]:
    """The tool calls the model makes: [(name, arguments JSON text)]."""
    if not req.tools or req.tool_result is not None or req.tool_choice == "none":
        return []
    names = [name for name, _ in req.tools]
    chosen = [n for n in names if n in req.echo.split() or n in req.echo]
    if not chosen:
        if req.tool_choice == "required":
            chosen = names[:1]
        elif req.tool_choice not in (None, "auto") and req.tool_choice in names:
            chosen = [req.tool_choice]
    elif req.tool_choice not in (None, "auto", "required") and req.tool_choice in names:
        chosen = [req.tool_choice]
    schemas = dict(req.tools)
    return [(n, arguments(schemas[n], req.invalid_json)) for n in chosen]


def arguments(schema: dict | None, invalid: bool = False) -> str:
    text = orjson.dumps(example(schema or {"type": "object"})).decode()
    return text[:-1] if invalid else text


def structured_text(req: SimRequest) -> str:
    """The answer to a response_format request."""
    return arguments(req.json_schema, req.invalid_json)


def fragments(text: str, n: int = 3) -> list[str]:
    """`text` in up to `n` pieces (as providers stream tool arguments)."""
    if len(text) < n:
        return [text]
    step = -(-len(text) // n)
    return [text[i:i + step] for i in range(0, len(text), step)]
