"""Vertex text embeddings (`text-embedding-005` and kin): `POST .../publishers/google/models/{m}:predict`
with `instances[].content` (up to 250 per request) and `parameters.outputDimensionality`; token counts
come per prediction in `embeddings.statistics.token_count`."""

import orjson

from skyrelay.runtime.canonical import EmbeddingRequest
from skyrelay.runtime.errors import UpstreamBadRequest, UpstreamServerError
from skyrelay.runtime.providers.base import HttpCall, Upstream

MAX_BATCH = 250


def build(upstream: Upstream, request: EmbeddingRequest, inputs: list[str]) -> HttpCall:
    if not upstream.project or not upstream.location:
        raise UpstreamBadRequest("vertex upstream needs project and location")
    base = (upstream.endpoint or f"https://{upstream.location}-aiplatform.googleapis.com").rstrip("/")
    url = (f"{base}/v1/projects/{upstream.project}/locations/{upstream.location}"
           f"/publishers/google/models/{upstream.model}:predict")
    body: dict = {"instances": [{"content": t} for t in inputs]}
    if request.dimensions is not None:
        body["parameters"] = {"outputDimensionality": request.dimensions}
    return HttpCall("POST", url, {"content-type": "application/json", "accept": "application/json"},
                    orjson.dumps(body))


def parse(headers, body: bytes) -> tuple[list[list[float]], int]:
    try:
        preds = orjson.loads(body)["predictions"]
        vectors = [p["embeddings"]["values"] for p in preds]
        tokens = sum(int((p["embeddings"].get("statistics") or {}).get("token_count") or 0) for p in preds)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise UpstreamServerError(f"malformed predict response: {exc}") from None
    return vectors, tokens


def refuses(upstream: Upstream, request: EmbeddingRequest) -> str | None:
    return None


def max_batch(upstream: Upstream) -> int:
    return MAX_BATCH
