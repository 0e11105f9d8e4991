"""Embeddings in the four wire formats, with each provider's per-request input limit enforced (so the
router's batching shows): OpenAI `/v1/embeddings` and Azure `/openai/deployments/{d}/embeddings`
(2,048 inputs), Bedrock `/model/{id}/invoke` for Titan Text Embeddings v2 (one `inputText`) and Cohere
Embed (96 `texts`, tokens in `X-Amzn-Bedrock-Input-Token-Count`), and Vertex `:predict` (250 instances).

Vectors are deterministic (from sha256 of the text) and tokens are whitespace words, as for chat. Error
faults (`x-sim-fault`, model names, `POST /_sim/faults`) answer with the provider's chat error shapes.
"""

import base64
import hashlib
import struct

import orjson
from aiohttp import web

from skyrelay.runtime.simulator import wire_bedrock, wire_openai, wire_vertex
from skyrelay.runtime.simulator.engine import ERROR_FAULTS, STATE_KEY, SimRequest, pick_fault, record, words

DEFAULT_DIMS = {"openai_compat": 1536, "azure_openai": 1536, "bedrock": 1024, "vertex": 768}
MAX_DIMS = 3072  # the largest model's size (text-embedding-3-large)
LIMITS = {"openai_compat": 2048, "azure_openai": 2048, "cohere": 96, "titan": 1, "vertex": 250}


def vector(text: str, dims: int) -> list[float]:
    out: list[float] = []
    seed = hashlib.sha256(text.encode()).digest()
    while len(out) < dims:
        seed = hashlib.sha256(seed).digest()
        out.extend(round(v / 2**31, 6) for v in struct.unpack("<8i", seed))
    return out[:dims]


def _json(data, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, headers=headers, content_type="application/json")


async def _body(request: web.Request) -> dict | None:
    try:
        data = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _fault(request: web.Request, provider: str, model: str, wire, n_inputs: int) -> web.Response | None:
    state = request.app[STATE_KEY]
    fault = pick_fault(request, state, model)
    name = fault.name if fault and fault.name in ERROR_FAULTS else None
    state.count(provider, model, name or "ok")
    if name is None:
        return None
    return wire.error(name, SimRequest(provider=provider, model=model, stream=False, prompt_tokens=n_inputs), fault)


def _too_many(provider: str, n: int, limit: int, what: str = "inputs") -> web.Response:
    message = f"Too many {what}: {n} > {limit} per request"
    if provider == "bedrock":
        return _json({"message": message}, 400, {"x-amzn-ErrorType": "ValidationException:http://internal.amazon.com/"})
    if provider == "vertex":
        return _json({"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}, 400)
    return _json({"error": {"message": message, "type": "invalid_request_error", "code": None}}, 400)


async def _openai(request: web.Request, provider: str, model: str, body: dict | None) -> web.Response:
    if body is None:
        return _json({"error": {"message": "invalid JSON"}}, 400)
    record(request, provider, model, body)
    inputs = body.get("input")
    inputs = [inputs] if isinstance(inputs, str) else inputs or []
    wire = wire_openai.AZURE if provider == "azure_openai" else wire_openai.OPENAI
    failed = _fault(request, provider, model, wire, len(inputs))
    if failed is not None:
        return failed
    if len(inputs) > LIMITS[provider]:
        return _too_many(provider, len(inputs), LIMITS[provider])
    dims = body.get("dimensions") or DEFAULT_DIMS[provider]
    if not isinstance(dims, int) or not 0 < dims <= MAX_DIMS:
        return _too_many(provider, dims, MAX_DIMS, "dimensions")
    tokens = sum(words(t) for t in inputs)
    b64 = body.get("encoding_format") == "base64"
    return _json({"object": "list", "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                  "data": [{"object": "embedding", "index": i,
                            "embedding": packed(vector(t, dims)) if b64 else vector(t, dims)}
                           for i, t in enumerate(inputs)]})


def packed(vec: list[float]) -> str:
    """A vector as OpenAI sends it for `encoding_format: base64`: little-endian float32."""
    return base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()


async def openai_embeddings(request: web.Request) -> web.Response:
    body = await _body(request)
    return await _openai(request, "openai_compat", str((body or {}).get("model") or ""), body)


async def azure_embeddings(request: web.Request) -> web.Response:
    if "api-version" not in request.query:
        return _json({"error": {"code": "404", "message": "Resource not found"}}, 404)
    return await _openai(request, "azure_openai", request.match_info["deployment"], await _body(request))


async def bedrock_invoke(request: web.Request) -> web.Response:
    model = request.match_info["model_id"]
    body = await _body(request)
    if body is None:
        return _too_many("bedrock", 0, 0)
    record(request, "bedrock", model, body)
    cohere = "cohere." in model
    inputs = (body.get("texts") or []) if cohere else [body.get("inputText") or ""]
    failed = _fault(request, "bedrock", model, wire_bedrock.WIRE, len(inputs))
    if failed is not None:
        return failed
    limit = LIMITS["cohere" if cohere else "titan"]
    if len(inputs) > limit:
        return _too_many("bedrock", len(inputs), limit)
    tokens = sum(words(t) for t in inputs)
    headers = {"X-Amzn-Bedrock-Input-Token-Count": str(tokens)}
    if cohere:
        return _json({"id": "sim", "response_type": "embeddings_floats", "texts": inputs,
                      "embeddings": [vector(t, 1024) for t in inputs]}, headers=headers)
    dims = body.get("dimensions") or DEFAULT_DIMS["bedrock"]
    if dims not in (256, 512, 1024):
        return _too_many("bedrock", dims, 1024, "dimensions")
    return _json({"embedding": vector(inputs[0], dims), "inputTextTokenCount": tokens}, headers=headers)


async def vertex_predict(request: web.Request, model: str) -> web.Response:
    body = await _body(request)
    if body is None:
        return _too_many("vertex", 0, 0)
    record(request, "vertex", model, body)
    inputs = [i.get("content") or "" for i in body.get("instances") or ()]
    failed = _fault(request, "vertex", model, wire_vertex.WIRE, len(inputs))
    if failed is not None:
        return failed
    if len(inputs) > LIMITS["vertex"]:
        return _too_many("vertex", len(inputs), LIMITS["vertex"])
    dims = (body.get("parameters") or {}).get("outputDimensionality") or DEFAULT_DIMS["vertex"]
    if not isinstance(dims, int) or not 0 < dims <= MAX_DIMS:
        return _too_many("vertex", dims, MAX_DIMS, "dimensions")
    return _json({"predictions": [{"embeddings": {"values": vector(t, dims), "statistics": {
        "token_count": words(t), "truncated": False}}} for t in inputs],
        "metadata": {"billableCharacterCount": sum(len(t) for t in inputs)}})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/embeddings", openai_embeddings)
    app.router.add_post("/openai/deployments/{deployment}/embeddings", azure_embeddings)
    app.router.add_post("/model/{model_id}/invoke", bedrock_invoke)
