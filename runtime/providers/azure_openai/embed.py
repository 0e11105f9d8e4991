"""Azure OpenAI embeddings: `POST {endpoint}/openai/deployments/{d}/embeddings?api-version=` (up to 2,048
inputs per request for text-embedding-3 deployments); the answer is OpenAI's."""

from skyrelay.runtime.canonical import EmbeddingRequest
from skyrelay.runtime.errors import UpstreamBadRequest
from skyrelay.runtime.providers.azure_openai.chat import DEFAULT_API_VERSION
from skyrelay.runtime.providers.base import HttpCall, Upstream
from skyrelay.runtime.providers.openai_wire import embeddings_body as body_of
from skyrelay.runtime.providers.openai_wire import parse_embeddings as parse  # noqa: F401 (the same answer)

MAX_BATCH = 2048


def build(upstream: Upstream, request: EmbeddingRequest, inputs: list[str]) -> HttpCall:
    if not upstream.endpoint:
        raise UpstreamBadRequest("azure_openai upstream needs an endpoint")
    url = (f"{upstream.endpoint.rstrip('/')}/openai/deployments/{upstream.model}/embeddings"
           f"?api-version={upstream.api_version or DEFAULT_API_VERSION}")
    return HttpCall("POST", url, {"content-type": "application/json", "accept": "application/json"},
                    body_of(inputs, request.dimensions, None))


def refuses(upstream: Upstream, request: EmbeddingRequest) -> str | None:
    return None


def max_batch(upstream: Upstream) -> int:
    return MAX_BATCH
