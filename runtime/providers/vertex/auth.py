"""Google OAuth bearer tokens for Vertex via google-auth, imported lazily.

Application Default Credentials are resolved and refreshed in a worker thread, and the token is
reused until five minutes before expiry.
"""

import asyncio
import datetime as dt

from skyrelay.runtime.errors import UpstreamAuth
from skyrelay.runtime.providers.base import HttpCall, Upstream

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
REFRESH_MARGIN = dt.timedelta(minutes=5)


def _utcnow() -> dt.datetime:
    # google-auth keeps `expiry` as a naive UTC datetime
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class GoogleTokenCache:
    def __init__(self, credentials=None) -> None:
        self._credentials = credentials
        self._lock: asyncio.Lock | None = None

    def _fresh(self) -> bool:
        c = self._credentials
        if c is None or not getattr(c, "token", None):
            return False
        expiry = getattr(c, "expiry", None)
        return expiry is None or _utcnow() < expiry - REFRESH_MARGIN

    def _refresh(self) -> None:
        if self._credentials is None:
            import google.auth

            self._credentials, _ = google.auth.default(scopes=list(SCOPES))
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


_CACHE = GoogleTokenCache()


def use_credentials(credentials) -> None:
    """Replaces Application Default Credentials (tests, or credentials the platform holds)."""
    global _CACHE
    _CACHE = GoogleTokenCache(credentials)


class GoogleSigner:
    async def sign(self, upstream: Upstream, call: HttpCall) -> None:
        if upstream.auth == "google":
            call.headers["authorization"] = "Bearer " + await _CACHE.token()
        elif upstream.auth == "api_key":
            if not upstream.api_key:
                raise UpstreamAuth("vertex upstream has auth=api_key but no api_key")
            call.headers["x-goog-api-key"] = upstream.api_key


SIGNER = GoogleSigner()
