"""Tool calling and structured output on Vertex Gemini, as pure mapping.

- `tools` -> `tools: [{"functionDeclarations": [{name, description, parameters}]}]`, with `parameters` in
  Vertex's OpenAPI `Schema` subset (`vertex_schema`, the same mapping as google-genai's
  `Schema.from_json_schema`: types upper-cased, `["x", "null"]` -> `nullable`, local `$ref`s inlined,
  `additionalProperties: false` dropped; `oneOf`, `allOf`, `not`, `const`, other keywords refused by name).
- `tool_choice` -> `toolConfig.functionCallingConfig`: auto `AUTO`, none `NONE`, required `ANY`, a named
  function `ANY` + `allowedFunctionNames`.
- An assistant turn's tool calls -> `functionCall` parts of a model turn; a tool message -> a
  `functionResponse` part of a user turn (`name` from the call it answers, `response: {"output": ...}`,
  the parsed JSON when the content is a JSON object).
- `response_format` -> `generationConfig.responseMimeType: application/json` (+ `responseSchema`).
- Answers: `functionCall` parts -> tool calls. Gemini sends each call whole (no argument fragments);
  it gives no call ids on v1, so the router makes them (`call_<n>_<random>`), distinct per call.
"""

import os

import orjson

from skyrelay.runtime.canonical import ChatRequest, Message

_TYPES = {"string", "number", "integer", "boolean", "array", "object", "null"}
# JSON Schema keyword -> Vertex Schema field (camelCase on the wire)
_KEEP = {"description": "description", "enum": "enum", "format": "format", "title": "title",
         "default": "default", "example": "example", "required": "required", "minItems": "minItems",
         "maxItems": "maxItems", "minLength": "minLength", "maxLength": "maxLength", "pattern": "pattern",
         "minimum": "minimum", "maximum": "maximum", "minProperties": "minProperties",
         "maxProperties": "maxProperties", "propertyOrdering": "propertyOrdering", "nullable": "nullable"}
_DROP = {"$schema", "$id", "$comment", "$defs", "definitions", "strict"}
_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}


class SchemaRefused(ValueError):
    """A JSON Schema keyword Vertex's Schema cannot carry: `path` (JSON pointer) and `keyword`."""

    def __init__(self, path: str, keyword: str):
        super().__init__(f"{path or '/'}: keyword {keyword!r} is not accepted by Vertex")
        self.path, self.keyword = path, keyword


def vertex_schema(schema: dict, root: dict | None = None, path: str = "", depth: int = 0) -> dict:
    if not isinstance(schema, dict):  # JSON Schema allows true / false as a schema; Vertex's Schema does not
        raise SchemaRefused(path, str(schema).lower())
    root = schema if root is None else root
    if depth > 16:
        raise SchemaRefused(path, "$ref")  # recursive references have no Vertex form
    ref = schema.get("$ref")
    if ref is not None:
        target = _resolve(root, ref)
        if target is None:
            raise SchemaRefused(path, "$ref")
        return vertex_schema({**target, **{k: v for k, v in schema.items() if k != "$ref"}}, root, path, depth + 1)
    out: dict = {}
    for key, value in schema.items():
        here = f"{path}/{key}"
        if key == "type":
            kinds = value if isinstance(value, list) else [value]
            if not all(k in _TYPES for k in kinds):
                raise SchemaRefused(here, "type")
            real = [k for k in kinds if k != "null"]
            if len(real) > 1:
                out["anyOf"] = [{"type": k.upper()} for k in real]
            elif real:
                out["type"] = real[0].upper()
            if "null" in kinds:
                out["nullable"] = True
        elif key == "properties":
            if not isinstance(value, dict):
                raise SchemaRefused(here, key)
            out["properties"] = {k: vertex_schema(v, root, f"{here}/{k}", depth + 1) for k, v in value.items()}
        elif key == "items":
            if not isinstance(value, dict):
                raise SchemaRefused(here, "items")
            out["items"] = vertex_schema(value, root, here, depth + 1)
        elif key == "anyOf":
            if not isinstance(value, list):
                raise SchemaRefused(here, key)
            out["anyOf"] = [vertex_schema(v, root, f"{here}/{i}", depth + 1) for i, v in enumerate(value)]
        elif key == "additionalProperties":
            if value is not False:
                raise SchemaRefused(here, key)
        elif key in _KEEP:
            out[_KEEP[key]] = value
        elif key not in _DROP:
            raise SchemaRefused(here, key)
    return out


def _resolve(root: dict, ref: str) -> dict | None:
    if not ref.startswith("#/"):
        return None
    node = root
    for part in ref[2:].split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def schema_problem(request: ChatRequest) -> str | None:
    """Why Vertex cannot carry the request's schemas (naming the field and keyword), or None."""
    fields = [(f"tools[{i}].function.parameters", t["parameters"]) for i, t in enumerate(request.tools or ())
              if t.get("parameters")]
    rf = request.response_format
    if rf and rf.get("schema"):
        fields.append(("response_format.json_schema.schema", rf["schema"]))
    for name, schema in fields:
        try:
            vertex_schema(schema)
        except SchemaRefused as exc:
            return f"{name}{exc.path}: keyword {exc.keyword!r} is not accepted by Vertex"
    return None


def parts_of(m: Message) -> list[dict]:
    """The parts of a message that has tool calls or answers one."""
    if m.tool_call_id is not None:
        try:
            result = orjson.loads(m.content)
        except orjson.JSONDecodeError:
            result = None
        response = result if isinstance(result, dict) else {"output": m.content}
        return [{"functionResponse": {"name": m.name, "response": response}}]
    parts = [{"text": m.content}] if m.content else []
    for c in m.tool_calls or ():
        try:
            args = orjson.loads(c["arguments"] or "{}")
        except orjson.JSONDecodeError:
            args = {}
        parts.append({"functionCall": {"name": c["name"], "args": args}})
    return parts


def tool_fields(request: ChatRequest) -> dict:
    """`tools` and `toolConfig` of a generateContent body."""
    out: dict = {}
    if request.tools:
        decls = []
        for t in request.tools:
            d: dict = {"name": t["name"]}
            if t.get("description"):
                d["description"] = t["description"]
            if t.get("parameters"):
                d["parameters"] = vertex_schema(t["parameters"])
            decls.append(d)
        out["tools"] = [{"functionDeclarations": decls}]
    choice = request.tool_choice
    if choice is not None:
        if isinstance(choice, dict):
            cfg = {"mode": "ANY", "allowedFunctionNames": [choice["name"]]}
        else:
            cfg = {"mode": _MODES[choice]}
        out["toolConfig"] = {"functionCallingConfig": cfg}
    return out


def json_config(request: ChatRequest) -> dict:
    """generationConfig fields for response_format."""
    rf = request.response_format
    cfg = {"responseMimeType": "application/json"}
    if rf.get("schema"):
        cfg["responseSchema"] = vertex_schema(rf["schema"])
    return cfg


def new_call_id(n: int) -> str:
    return f"call_{n}_{os.urandom(6).hex()}"


def calls_of(parts, start: int = 0) -> list[dict]:
    """The `functionCall` parts as canonical tool calls, numbered from `start`."""
    calls = []
    for p in parts or ():
        fc = p.get("functionCall") if isinstance(p, dict) else None
        if isinstance(fc, dict):
            calls.append({"id": fc.get("id") or new_call_id(start + len(calls)), "name": fc.get("name") or "",
                          "arguments": orjson.dumps(fc.get("args") or {}).decode()})
    return calls
