"""Google OAuth bearer tokens: from the metadata server on Cloud Run, else via google-auth, imported lazily.

On Cloud Run (K_SERVICE set, or GCE_METADATA_HOST naming a metadata server) the service account's
token comes from the metadata server over `http.client` (`MetadataCredentials`: what google-auth's
compute_engine credentials do there, without google-auth's `requests` transport, ~160 ms of a cold
worker's first Vertex call). Elsewhere Application Default Credentials are resolved through
google-auth. Either way the refresh runs in a worker thread, and the token is reused until five
minutes before expiry.
"""

import asyncio
import datetime as dt
import json
import os

from skyrelay.runtime.errors import UpstreamAuth

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
REFRESH_MARGIN = dt.timedelta(minutes=5)
METADATA_TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token"


def _utcnow() -> dt.datetime:
    # google-auth keeps `expiry` as a naive UTC datetime
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def metadata_host(env=os.environ) -> str | None:
    """The metadata server's host where the runtime runs on Google (Cloud Run sets K_SERVICE), else None."""
    if env.get("GCE_METADATA_HOST"):
        return env["GCE_METADATA_HOST"]
    return "metadata.google.internal" if env.get("K_SERVICE") else None


class MetadataError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(f"metadata server token: {status} {detail}")
        self.status = status


class MetadataCredentials:
    """The service account's token from the metadata server (the documented path, with the
    `Metadata-Flavor: Google` header it requires), shaped as google-auth credentials: `token`,
    `expiry` (naive UTC) and `refresh(request)`."""

    def __init__(self, host: str):
        self.host, self.token, self.expiry = host, None, None

    def refresh(self, request=None) -> None:
        import http.client

        conn = http.client.HTTPConnection(self.host, timeout=10)
        try:
            conn.request("GET", METADATA_TOKEN_PATH, headers={"Metadata-Flavor": "Google"})
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        if response.status != 200:
            raise MetadataError(response.status, repr(data[:200]))
        doc = json.loads(data)
        self.token = doc["access_token"]
        self.expiry = _utcnow() + dt.timedelta(seconds=float(doc.get("expires_in", 3600)))


class GoogleTokenCache:
    def __init__(self, credentials=None, scopes: tuple[str, ...] = SCOPES) -> None:
        self._credentials = credentials
        self._scopes = scopes
        self._lock: asyncio.Lock | None = None

    def _fresh(self) -> bool:
        c = self._credentials
        if c is None or not getattr(c, "token", None):
            return False
        expiry = getattr(c, "expiry", None)
        return expiry is None or _utcnow() < expiry - REFRESH_MARGIN

    def _refresh(self) -> None:
        if self._credentials is None and (host := metadata_host()):
            self._credentials = MetadataCredentials(host)
        if isinstance(self._credentials, MetadataCredentials):
            self._credentials.refresh()
            return
        if self._credentials is None:
            import google.auth

            self._credentials, _ = google.auth.default(scopes=list(self._scopes))
        from google.auth.transport.requests import Request

        self._credentials.refresh(Request())

    async def token(self) -> str:
        if self._fresh():
            return self._credentials.token
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not self._fresh():
                try:
                    await asyncio.to_thread(self._refresh)
                except Exception as exc:  # noqa: BLE001 - any credential failure is an auth failure
                    raise UpstreamAuth(f"Google credentials: {exc}") from None
        return self._credentials.token
