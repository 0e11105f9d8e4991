"""OpenAI-compatible embeddings: `POST {base}/v1/embeddings` with the inputs as an array (up to 2,048).

Vectors are asked for as base64 (little-endian float32, what the openai SDK itself asks for): one string
per vector to parse instead of 1,536 floats, and passed through as they are when the client also wants
base64 (runtime/api/embeddings.py decodes them only for `encoding_format: float`)."""

from skyrelay.runtime.canonical import EmbeddingRequest
from skyrelay.runtime.providers.base import HttpCall, Upstream
from skyrelay.runtime.providers.openai_wire import embeddings_body as body_of
from skyrelay.runtime.providers.openai_wire import parse_embeddings as parse  # noqa: F401 (the translator's parse)

MAX_BATCH = 2048
_HEADERS = {"content-type": "application/json", "accept": "application/json"}


def build(upstream: Upstream, request: EmbeddingRequest, inputs: list[str]) -> HttpCall:
    base = (upstream.endpoint or "https://api.openai.com/v1").rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    return HttpCall("POST", base + "/embeddings", dict(_HEADERS), body_of(inputs, request.dimensions, upstream.model))


def refuses(upstream: Upstream, request: EmbeddingRequest) -> str | None:
    return None


def max_batch(upstream: Upstream) -> int:
    return MAX_BATCH
