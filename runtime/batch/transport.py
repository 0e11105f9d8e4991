"""Sending a batch translator's `HttpCall`: signed by the provider's own signer (providers/registry.py:
SigV4 for Bedrock, Entra or api-key for Azure, Google OAuth for Vertex), over one aiohttp session per
batcher run. A non-2xx answer raises `BatchCallFailed` with the provider's status and body."""

import aiohttp

from skyrelay.runtime.providers.base import HttpCall, Upstream
from skyrelay.runtime.providers.registry import adapter_for
from skyrelay.runtime.tls import tls_context

TIMEOUT_S = 60.0


class BatchCallFailed(Exception):
    def __init__(self, status: int, body: bytes, what: str):
        super().__init__(f"{what}: HTTP {status}: {body[:300].decode('utf-8', 'replace')}")
        self.status, self.body = status, body

    @property
    def retryable(self) -> bool:
        return self.status in (0, 408, 409, 429) or self.status >= 500


class Transport:
    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_S),
                connector=aiohttp.TCPConnector(ssl=tls_context(), limit=16))
        return self._session

    async def send(self, upstream: Upstream, call: HttpCall, what: str) -> bytes:
        _, signer = adapter_for(upstream.provider)
        await signer.sign(upstream, call)
        try:
            async with self._client().request(call.method, call.url, data=call.body or None,
                                              headers=call.headers) as resp:
                body = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise BatchCallFailed(0, f"{type(exc).__name__}: {exc}".encode(), what) from None
        if status >= 300:
            raise BatchCallFailed(status, body, what)
        return body

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
