"""The contract between the router and the provider adapters.

An adapter is a pure translator (no I/O): `build` turns a canonical request into an `HttpCall`,
`parse` turns a response into a `ChatResult`, `stream_parser` turns stream bytes into
`StreamDelta`s, and `error` maps an upstream failure to a canonical `ProviderError`. Auth
(SigV4, Entra, Google OAuth, API key) is applied to the finished `HttpCall` by `Signer`s so the
translators stay testable without credentials. `runtime/providers/client.py` does the I/O with one
pooled aiohttp session per upstream.
"""

from dataclasses import dataclass, field
from typing import Literal, Protocol

from skyrelay.runtime.canonical import ChatRequest, ChatResult, StreamDelta
from skyrelay.runtime.errors import ProviderError

ProviderKind = Literal["bedrock", "azure_openai", "vertex", "openai_compat"]


@dataclass(slots=True, frozen=True)
class Upstream:
    """Where and how to reach one deployed model. Built by the router from its config."""

    provider: ProviderKind
    model: str  # the upstream's own model / deployment id
    endpoint: str | None = None  # base URL; None = the provider's public endpoint for the region
    region: str | None = None  # AWS region (Bedrock)
    project: str | None = None  # GCP project (Vertex)
    location: str | None = None  # GCP location (Vertex)
    api_version: str | None = None  # Azure OpenAI api-version
    auth: Literal["api_key", "entra", "sigv4", "google", "none"] = "api_key"
    api_key: str | None = field(default=None, repr=False)
    # Vertex: a `projects/.../cachedContents/...` resource holding the prompt prefix up to the last
    # `cache_hint`; when set and the request carries a hint, that prefix is sent by reference.
    cached_content: str | None = None
    # Add the provider's prompt-caching hint when the system prefix passes its minimum
    # (runtime/providers/prompt_cache.py); the router sets it from the deployment's `prompt_cache`.
    auto_cache: bool = False


@dataclass(slots=True)
class HttpCall:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


class StreamParser(Protocol):
    def feed(self, chunk: bytes) -> list[StreamDelta]:
        """Parses the next bytes; raises ProviderError on a malformed frame or an in-stream error."""

    def close(self) -> None:
        """Called at end of body; raises ProviderError if the end-of-stream marker never came."""


class Adapter(Protocol):
    kind: ProviderKind

    def build(self, upstream: Upstream, request: ChatRequest, stream: bool) -> HttpCall: ...

    def parse(self, upstream: Upstream, status: int, headers: dict[str, str], body: bytes) -> ChatResult: ...

    def stream_parser(self, upstream: Upstream) -> StreamParser: ...

    def error(self, status: int, headers: dict[str, str], body: bytes) -> ProviderError: ...


class Signer(Protocol):
    """Applies auth to a finished `HttpCall` in place (API key, SigV4, Entra or Google bearer).

    Signers may do I/O the first time (credential discovery, token refresh) and cache the result;
    the hot path after that is a dict lookup and a header write.
    """

    async def sign(self, upstream: Upstream, call: HttpCall) -> None: ...
