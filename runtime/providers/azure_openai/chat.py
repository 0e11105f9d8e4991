"""Azure OpenAI: `POST {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...`.

Prompt caching is automatic on Azure; cached prompt tokens come back in
`usage.prompt_tokens_details.cached_tokens` and are accounted as cache reads.
"""

from skyrelay.runtime.canonical import ChatRequest
from skyrelay.runtime.errors import UpstreamBadRequest
from skyrelay.runtime.providers import openai_wire
from skyrelay.runtime.providers.base import HttpCall, Upstream

DEFAULT_API_VERSION = "2024-10-21"


class AzureOpenAiAdapter(openai_wire.OpenAiWireAdapter):
    kind = "azure_openai"

    def build(self, upstream: Upstream, request: ChatRequest, stream: bool) -> HttpCall:
        if not upstream.endpoint:
            raise UpstreamBadRequest("azure_openai upstream needs an endpoint")
        url = (f"{upstream.endpoint.rstrip('/')}/openai/deployments/{upstream.model}/chat/completions"
               f"?api-version={upstream.api_version or DEFAULT_API_VERSION}")
        return HttpCall("POST", url, self.headers(stream), openai_wire.build_body(request, None, stream))


ADAPTER = AzureOpenAiAdapter()
