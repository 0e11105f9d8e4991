"""SigV4 for Bedrock (service `bedrock`) with botocore, imported lazily.

Credentials come from the default botocore session chain (env, profile, container/instance role),
resolved once in a worker thread; refreshable credentials refresh themselves inside botocore.
"""

import asyncio

from skyrelay.runtime.errors import UpstreamAuth
from skyrelay.runtime.providers.base import HttpCall, Upstream

SERVICE = "bedrock"


class SigV4Signer:
    def __init__(self, credentials=None) -> None:
        self._credentials = credentials
        self._lock: asyncio.Lock | None = None

    @staticmethod
    def _resolve():
        from botocore.session import Session

        creds = Session().get_credentials()
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
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    req = AWSRequest(method=call.method, url=call.url, data=call.body, headers=dict(call.headers))
    SigV4Auth(credentials, SERVICE, region).add_auth(req)
    return {k.lower(): v for k, v in req.headers.items() if k.lower().startswith(("authorization", "x-amz-"))}


SIGNER = SigV4Signer()


def use_credentials(credentials) -> None:
    """Replaces the resolved credentials (tests, or credentials the platform already holds)."""
    SIGNER._credentials = credentials
