"""Azure OpenAI: `POST {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...`.

Prompt caching is automatic on Azure; cached prompt tokens come back in
`usage.prompt_tokens_details.cached_tokens` and are accounted as cache reads.
"""

from skyrelay.runtime.canonical import ChatRequest, ChatResult
from skyrelay.runtime.errors import ProviderError, UpstreamBadRequest
from skyrelay.runtime.providers import openai_wire
from skyrelay.runtime.providers.base import HttpCall, Upstream

DEFAULT_API_VERSION = "2024-10-21"
_JSON = "application/json"


class AzureOpenAiAdapter:
    kind = "azure_openai"

    def build(self, upstream: Upstream, request: ChatRequest, stream: bool) -> HttpCall:
        if not upstream.endpoint:
            raise UpstreamBadRequest("azure_openai upstream needs an endpoint")
        url = (f"{upstream.endpoint.rstrip('/')}/openai/deployments/{upstream.model}/chat/completions"
               f"?api-version={upstream.api_version or DEFAULT_API_VERSION}")
        headers = {"content-type": _JSON, "accept": "text/event-stream" if stream else _JSON}
        return HttpCall("POST", url, headers, openai_wire.build_body(request, None, stream))

    def parse(self, upstream: Upstream, status: int, headers: dict[str, str], body: bytes) -> ChatResult:
        return openai_wire.parse_body(body, upstream.model)

    def stream_parser(self, upstream: Upstream) -> openai_wire.OpenAiStreamParser:
        return openai_wire.OpenAiStreamParser()

    def error(self, status: int, headers: dict[str, str], body: bytes) -> ProviderError:
        return openai_wire.error_from(status, headers, body)


ADAPTER = AzureOpenAiAdapter()
