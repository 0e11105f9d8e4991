"""SigV4 for Bedrock (service `bedrock`): the runtime's one signer (`runtime/clouds/aws/sigv4.py`).

Credentials are resolved once (`clouds/aws/credentials.py`): from the environment when it holds
them (always so on Lambda: no botocore import on a cold worker's first Bedrock call), else from
botocore's default chain in a worker thread; refreshable credentials are frozen at each signature,
so they refresh as botocore's do.
"""

import asyncio

from skyrelay.runtime.clouds.aws import credentials as aws_credentials
from skyrelay.runtime.clouds.aws import sigv4
from skyrelay.runtime.errors import UpstreamAuth
from skyrelay.runtime.providers.base import HttpCall, Upstream

SERVICE = "bedrock"


class SigV4Signer:
    def __init__(self, credentials=None) -> None:
        self._credentials = credentials
        self._lock: asyncio.Lock | None = None

    @staticmethod
    def _resolve():
        creds = aws_credentials.resolve()
        if creds is None:
            raise UpstreamAuth("no AWS credentials found for SigV4")
        return creds

    async def credentials(self):
        if self._credentials is None:
            if self._lock is None:
                self._lock = asyncio.Lock()
            async with self._lock:
                if self._credentials is None:
                    self._credentials = await asyncio.to_thread(self._resolve)
        return self._credentials

    async def sign(self, upstream: Upstream, call: HttpCall) -> None:
        if upstream.auth == "none":
            return
        if upstream.auth == "api_key":  # Bedrock API keys are bearer tokens
            if not upstream.api_key:
                raise UpstreamAuth("bedrock upstream has auth=api_key but no api_key")
            call.headers["authorization"] = "Bearer " + upstream.api_key
            return
        creds = await self.credentials()
        call.headers.update(sigv4_headers(creds, upstream.region or "us-east-1", call))


def sigv4_headers(credentials, region: str, call: HttpCall) -> dict[str, str]:
    """`credentials`: a (key, secret, token) tuple, or botocore credentials (frozen here)."""
    return sigv4.sign(call.method, call.url, call.headers, call.body or b"", aws_credentials.frozen(credentials),
                      region, SERVICE)


SIGNER = SigV4Signer()


def use_credentials(credentials) -> None:
    """Replaces the resolved credentials (tests, or credentials the platform already holds)."""
    SIGNER._credentials = credentials
