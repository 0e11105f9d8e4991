"""Azure auth: the `api-key` header, or an Entra ID bearer token from azure-identity.

azure-identity is imported lazily; the token is fetched in a worker thread and cached until five
minutes before it expires, so the hot path is a timestamp comparison and a header write.
"""

import asyncio
import time

from skyrelay.runtime.errors import UpstreamAuth
from skyrelay.runtime.providers.base import HttpCall, Upstream

SCOPE = "https://cognitiveservices.azure.com/.default"
REFRESH_MARGIN_S = 300.0


class EntraTokenCache:
    def __init__(self, credential=None, scope: str = SCOPE) -> None:
        self._credential = credential  # any object with get_token(scope) -> (token, expires_on)
        self._scope = scope
        self._token: str | None = None
        self._expires_on = 0.0
        self._lock: asyncio.Lock | None = None

    def _fetch(self):
        if self._credential is None:
            from azure.identity import DefaultAzureCredential  # lazy: only Entra deployments pay for it

            self._credential = DefaultAzureCredential()
        return self._credential.get_token(self._scope)

    async def token(self) -> str:
        if self._token is not None and time.time() < self._expires_on - REFRESH_MARGIN_S:
            return self._token
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._token is None or time.time() >= self._expires_on - REFRESH_MARGIN_S:
                try:
                    got = await asyncio.to_thread(self._fetch)
                except Exception as exc:  # noqa: BLE001 - any credential failure is an auth failure
                    raise UpstreamAuth(f"Entra token: {exc}") from None
                self._token, self._expires_on = got.token, float(got.expires_on)
        return self._token


_ENTRA = EntraTokenCache()


def use_credential(credential) -> None:
    """Replaces the Entra credential (tests, or a ManagedIdentityCredential chosen by the platform)."""
    global _ENTRA
    _ENTRA = EntraTokenCache(credential)


class AzureSigner:
    async def sign(self, upstream: Upstream, call: HttpCall) -> None:
        if upstream.auth == "entra":
            call.headers["authorization"] = "Bearer " + await _ENTRA.token()
        elif upstream.auth == "api_key":
            if not upstream.api_key:
                raise UpstreamAuth("azure_openai upstream has auth=api_key but no api_key")
            call.headers["api-key"] = upstream.api_key


SIGNER = AzureSigner()
