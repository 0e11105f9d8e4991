"""Any OpenAI-compatible endpoint: `POST {base}/v1/chat/completions`, bearer key, SSE streams.

`Upstream.endpoint` is the base URL; a trailing `/v1` is accepted and not doubled.
"""

from skyrelay.runtime.canonical import ChatRequest, ChatResult
from skyrelay.runtime.errors import ProviderError, UpstreamAuth
from skyrelay.runtime.providers import openai_wire
from skyrelay.runtime.providers.base import HttpCall, Upstream

DEFAULT_BASE = "https://api.openai.com/v1"
_JSON = "application/json"


def chat_url(endpoint: str | None) -> str:
    base = (endpoint or DEFAULT_BASE).rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    return base + "/chat/completions"


class OpenAiCompatAdapter:
    kind = "openai_compat"

    def build(self, upstream: Upstream, request: ChatRequest, stream: bool) -> HttpCall:
        headers = {"content-type": _JSON, "accept": "text/event-stream" if stream else _JSON}
        return HttpCall("POST", chat_url(upstream.endpoint), headers,
                        openai_wire.build_body(request, upstream.model, stream))

    def parse(self, upstream: Upstream, status: int, headers: dict[str, str], body: bytes) -> ChatResult:
        return openai_wire.parse_body(body, upstream.model)

    def stream_parser(self, upstream: Upstream) -> openai_wire.OpenAiStreamParser:
        return openai_wire.OpenAiStreamParser()

    def error(self, status: int, headers: dict[str, str], body: bytes) -> ProviderError:
        return openai_wire.error_from(status, headers, body)


class BearerSigner:
    async def sign(self, upstream: Upstream, call: HttpCall) -> None:
        if upstream.auth == "api_key":
            if not upstream.api_key:
                raise UpstreamAuth("openai_compat upstream has auth=api_key but no api_key")
            call.headers["authorization"] = "Bearer " + upstream.api_key


ADAPTER = OpenAiCompatAdapter()
SIGNER = BearerSigner()
