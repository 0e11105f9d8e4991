"""Any OpenAI-compatible endpoint: `POST {base}/v1/chat/completions`, bearer key, SSE streams.

`Upstream.endpoint` is the base URL; a trailing `/v1` is accepted and not doubled.
"""

from skyrelay.runtime.canonical import ChatRequest
from skyrelay.runtime.errors import UpstreamAuth
from skyrelay.runtime.providers import openai_wire
from skyrelay.runtime.providers.base import HttpCall, Upstream

DEFAULT_BASE = "https://api.openai.com/v1"


def chat_url(endpoint: str | None) -> str:
    base = (endpoint or DEFAULT_BASE).rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    return base + "/chat/completions"


class OpenAiCompatAdapter(openai_wire.OpenAiWireAdapter):
    kind = "openai_compat"

    def build(self, upstream: Upstream, request: ChatRequest, stream: bool) -> HttpCall:
        return HttpCall("POST", chat_url(upstream.endpoint), self.headers(stream),
                        openai_wire.build_body(request, upstream.model, stream))


class BearerSigner:
    async def sign(self, upstream: Upstream, call: HttpCall) -> None:
        if upstream.auth == "api_key":
            if not upstream.api_key:
                raise UpstreamAuth("openai_compat upstream has auth=api_key but no api_key")
            call.headers["authorization"] = "Bearer " + upstream.api_key


ADAPTER = OpenAiCompatAdapter()
SIGNER = BearerSigner()
