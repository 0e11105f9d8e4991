"""Entra ID bearer tokens from azure-identity, cached until five minutes before they expire.

The default credential is identity.sync_credential for the Function App's identity (AZURE_CLIENT_ID
of the deployment contract): the platform's managed identity endpoint over stdlib HTTP when it is
there (Functions, App Service), else azure-identity (ManagedIdentityCredential for that client id, or
DefaultAzureCredential), imported lazily. The token is fetched in a worker thread, so the hot path
is a timestamp comparison. One cache per scope: Azure OpenAI's is
`https://cognitiveservices.azure.com/.default`.
"""

import asyncio
import time

from skyrelay.runtime.errors import UpstreamAuth

REFRESH_MARGIN_S = 300.0


class EntraTokenCache:
    def __init__(self, scope: str, credential=None) -> None:
        self._credential = credential  # any object with get_token(scope) -> (token, expires_on)
        self._scope = scope
        self._token: str | None = None
        self._expires_on = 0.0
        self._lock: asyncio.Lock | None = None

    def _fetch(self):
        if self._credential is None:
            import os

            from skyrelay import deployment as contract
            from skyrelay.runtime.clouds.azure.identity import sync_credential

            self._credential = sync_credential(os.environ.get(contract.AZURE_CLIENT_ID) or None)
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
