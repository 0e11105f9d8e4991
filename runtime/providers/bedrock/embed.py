"""Bedrock embeddings through `POST /model/{modelId}/invoke`, in each model family's own body:

- Amazon Titan Text Embeddings v2 (`amazon.titan-embed-text-v2:0`): one text per call,
  `{"inputText", "dimensions" (256, 512 or 1024), "normalize": true}` ->
  `{"embedding", "inputTextTokenCount"}`;
- Cohere Embed (`cohere.embed-*`): up to 96 texts, `{"texts", "input_type": "search_document"}` ->
  `{"embeddings"}`, tokens from the `X-Amzn-Bedrock-Input-Token-Count` header; a fixed size, so
  `dimensions` is refused.
"""

from urllib.parse import quote

import orjson

from skyrelay.runtime.canonical import EmbeddingRequest
from skyrelay.runtime.errors import UpstreamServerError
from skyrelay.runtime.providers.base import HttpCall, Upstream
from skyrelay.runtime.providers.bedrock.chat import base_url

TITAN_DIMENSIONS = (256, 512, 1024)


def is_cohere(upstream: Upstream) -> bool:
    return "cohere." in upstream.model


def max_batch(upstream: Upstream) -> int:
    return 96 if is_cohere(upstream) else 1


def build(upstream: Upstream, request: EmbeddingRequest, inputs: list[str]) -> HttpCall:
    url = f"{base_url(upstream)}/model/{quote(upstream.model, safe='')}/invoke"
    if is_cohere(upstream):
        body: dict = {"texts": inputs, "input_type": "search_document"}
    else:
        (text,) = inputs
        body = {"inputText": text, "normalize": True}
        if request.dimensions is not None:
            body["dimensions"] = request.dimensions
    return HttpCall("POST", url, {"content-type": "application/json", "accept": "application/json"},
                    orjson.dumps(body))


def parse(headers, body: bytes) -> tuple[list[list[float]], int]:
    try:
        data = orjson.loads(body)
        header = headers.get("x-amzn-bedrock-input-token-count")
        if "embeddings" in data:
            vectors = data["embeddings"]
            vectors = vectors.get("float", vectors) if isinstance(vectors, dict) else vectors
            return vectors, int(header or 0)
        return [data["embedding"]], int(data.get("inputTextTokenCount") or header or 0)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UpstreamServerError(f"malformed Bedrock embeddings response: {exc}") from None


def refuses(upstream: Upstream, request: EmbeddingRequest) -> str | None:
    if request.dimensions is None:
        return None
    if is_cohere(upstream) or request.dimensions not in TITAN_DIMENSIONS:
        return "dimensions"
    return None
