"""POST /v1/embeddings (OpenAI's shape): `input` a string or an array of strings, `dimensions`,
`encoding_format` float or base64 (little-endian float32, as OpenAI sends it), `user`.

Validation names the field (400 `validation_error`; any other parameter 400 `unsupported_parameter`);
routing, batching, cache, limits and cost are the router's (runtime/router/embeddings.py).
"""

import base64
import struct

import orjson

from skyrelay.runtime.api.body import read_body
from skyrelay.runtime.api.chat import _headers
from skyrelay.runtime.api.errors import MethodNotAllowed, send_error, send_json
from skyrelay.runtime.canonical import EmbeddingRequest
from skyrelay.runtime.errors import ValidationFailed
from skyrelay.runtime.parse import check_parameters, load_json

PARAMETERS = frozenset(("model", "input", "dimensions", "encoding_format", "user"))
MAX_INPUTS = 2048  # OpenAI's limit per request
MAX_DIMENSIONS = 8192  # above every provider's largest model (3,072): refused here, not sent upstream


def _fail(field: str, problem: str):
    raise ValidationFailed(f"{field}: {problem}")


def parse_embeddings(doc) -> tuple[EmbeddingRequest, str]:
    """(the canonical request, the encoding format)."""
    if not isinstance(doc, dict):
        _fail("body", "must be a JSON object")
    check_parameters(doc, PARAMETERS)
    model = doc.get("model")
    if not isinstance(model, str) or not model:
        _fail("model", "must be a non-empty string")
    raw = doc.get("input")
    inputs = [raw] if isinstance(raw, str) else raw
    if not isinstance(inputs, list) or not inputs:
        _fail("input", "must be a string or a non-empty array of strings")
    if len(inputs) > MAX_INPUTS:
        _fail("input", f"at most {MAX_INPUTS} inputs per request")
    for i, text in enumerate(inputs):
        if not isinstance(text, str):
            _fail(f"input[{i}]", "must be a string (token arrays are not supported)")
        if not text:
            _fail(f"input[{i}]", "must not be empty")
    dims = doc.get("dimensions")
    if dims is not None and (isinstance(dims, bool) or not isinstance(dims, int) or not 1 <= dims <= MAX_DIMENSIONS):
        _fail("dimensions", f"must be an integer between 1 and {MAX_DIMENSIONS}")
    fmt = doc.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        _fail("encoding_format", "must be float or base64")
    user = doc.get("user")
    if user is not None and not isinstance(user, str):
        _fail("user", "must be a string")
    return EmbeddingRequest(model, inputs, dims, user), fmt


def encode(vector, fmt: str):
    """A vector (floats, or base64 float32 from the upstream) in the format the client asked for."""
    if isinstance(vector, str):
        if fmt == "base64":
            return vector
        raw = base64.b64decode(vector)
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    if fmt == "float":
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


class EmbeddingsEndpoint:
    def __init__(self, ctx):
        self.ctx = ctx
        self.limit = ctx.config.api.max_body_bytes

    async def __call__(self, scope, receive, send):
        state = scope.setdefault("state", {})
        if scope["method"] != "POST":
            state["status"] = await send_error(send, MethodNotAllowed("POST"))
            return
        try:
            h = _headers(scope)
            tenant = self.ctx.keys.tenant_for(h.get(b"authorization"), h.get(b"x-api-key"))
            req, fmt = parse_embeddings(load_json(await read_body(receive, self.limit, h.get(b"content-length"))))
            out = await self.ctx.router.embed(req, tenant)
        except Exception as exc:
            state["status"] = await send_error(send, exc)
            return
        state["upstream_s"] = out.upstream_s
        state["deployment"] = out.deployment
        tokens = out.result.input_tokens
        doc = {"object": "list", "model": req.model,
               "data": [{"object": "embedding", "index": i, "embedding": encode(v, fmt)}
                        for i, v in enumerate(out.result.vectors)],
               "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        extra = [(k.encode(), v.encode()) for k, v in out.headers.items()]
        extra.append((b"x-skyrelay-deployment", out.deployment.encode()))
        if out.cached:
            extra.append((b"x-skyrelay-cache", b"hit"))
        state["status"] = 200
        await send_json(send, 200, orjson.dumps(doc), extra)


def routes(ctx) -> list:
    from starlette.routing import Route

    return [Route("/v1/embeddings", EmbeddingsEndpoint(ctx))]
