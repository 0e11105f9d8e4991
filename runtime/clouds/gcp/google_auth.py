"""Google OAuth bearer tokens via google-auth, imported lazily.

Application Default Credentials are resolved and refreshed in a worker thread, and the token is
reused until five minutes before expiry.
"""

import asyncio
import datetime as dt

from skyrelay.runtime.errors import UpstreamAuth

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
REFRESH_MARGIN = dt.timedelta(minutes=5)


def _utcnow() -> dt.datetime:
    # google-auth keeps `expiry` as a naive UTC datetime
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


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
