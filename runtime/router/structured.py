"""Structured output: the router checks the answer a `response_format` asked for before it is sent.

The answer must be JSON (an object, for `json_object` and for schemas of type object); with
`json_schema` and `strict: true` it must also be valid against the schema (JSON Schema draft 2020-12).
A provider answer that fails is `UpstreamInvalidOutput`: a provider error like a malformed body, judged
against the deployment's breaker, and the router fails over to the next deployment. Streams that set
`response_format` are read whole first (runtime/router/router.py), so this holds before the first byte.
"""

import orjson

from skyrelay.runtime.canonical import ChatRequest, ChatResult
from skyrelay.runtime.errors import UpstreamInvalidOutput

_VALIDATORS: dict[bytes, object] = {}


def _validator(schema: dict):
    key = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    v = _VALIDATORS.get(key)
    if v is None:
        from jsonschema import Draft202012Validator

        if len(_VALIDATORS) > 256:
            _VALIDATORS.clear()
        v = _VALIDATORS[key] = Draft202012Validator(schema)
    return v


def check(request: ChatRequest, result: ChatResult, deployment: str) -> None:
    """Raises UpstreamInvalidOutput when `result` (or any of its other choices, with `n`) is not what
    `request.response_format` asked for."""
    rf = request.response_format
    if rf is None:
        return
    for other in result.choices or ():
        check(request, other, deployment)
    try:
        value = orjson.loads(result.text)
    except orjson.JSONDecodeError:
        raise UpstreamInvalidOutput(f"{deployment}: the answer is not JSON ({result.text[:80]!r})") from None
    schema = rf.get("schema") or {"type": "object"}
    if (rf["type"] == "json_object" or schema.get("type") == "object") and not isinstance(value, dict):
        raise UpstreamInvalidOutput(f"{deployment}: the answer is JSON but not an object")
    if rf.get("strict"):
        error = next(iter(_validator(schema).iter_errors(value)), None)
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path)
            raise UpstreamInvalidOutput(f"{deployment}: the answer breaks the schema at /{where}: {error.message}")
