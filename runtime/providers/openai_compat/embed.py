"""OpenAI-compatible embeddings: `POST {base}/v1/embeddings` with the inputs as an array (up to 2,048).

Vectors are asked for as base64 (little-endian float32, what the openai SDK itself asks for): one string
per vector to parse instead of 1,536 floats, and passed through as they are when the client also wants
base64 (runtime/api/embeddings.py decodes them only for `encoding_format: float`)."""

import orjson

from skyrelay.runtime.canonical import EmbeddingRequest
from skyrelay.runtime.errors import UpstreamServerError
from skyrelay.runtime.providers.base import HttpCall, Upstream

MAX_BATCH = 2048
_HEADERS = {"content-type": "application/json", "accept": "application/json"}


def body_of(inputs: list[str], dimensions: int | None, model: str | None) -> bytes:
    body: dict = {"input": inputs, "encoding_format": "base64"}
    if model is not None:
        body["model"] = model
    if dimensions is not None:
        body["dimensions"] = dimensions
    return orjson.dumps(body)


def build(upstream: Upstream, request: EmbeddingRequest, inputs: list[str]) -> HttpCall:
    base = (upstream.endpoint or "https://api.openai.com/v1").rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    return HttpCall("POST", base + "/embeddings", dict(_HEADERS), body_of(inputs, request.dimensions, upstream.model))


def parse(headers, body: bytes) -> tuple[list, int]:
    """(vectors in input order: base64 strings, or float lists from an upstream that ignored the format,
    prompt tokens) of an OpenAI embeddings answer (Azure's too)."""
    try:
        data = orjson.loads(body)
        rows = sorted(data["data"], key=lambda d: d["index"])
        return [r["embedding"] for r in rows], int((data.get("usage") or {}).get("prompt_tokens") or 0)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise UpstreamServerError(f"malformed embeddings response: {exc}") from None


def refuses(upstream: Upstream, request: EmbeddingRequest) -> str | None:
    return None


def max_batch(upstream: Upstream) -> int:
    return MAX_BATCH
