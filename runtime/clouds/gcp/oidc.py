"""Verifying the OIDC bearer Cloud Tasks and Cloud Scheduler send with every push, through google-auth.

Cloud Run checks the token itself when the service requires authentication (the component gives only
the Tasks service account `roles/run.invoker`), but the worker checks it again on every request, so a
misconfigured service (invoker IAM disabled, an allUsers binding) still refuses what did not come
from its queue:
- the signature against Google's signing keys (OIDC_CERTS_URL in tests: the peer's JWKS), the expiry,
  and the issuer (https://accounts.google.com or accounts.google.com): any failure is 401;
- the audience (OIDC_AUDIENCE: the worker's own URL): 401;
- the identity: `email` must be the Tasks service account and `email_verified` true: 403.

The keys are fetched once (in a worker thread: the event loop never waits on the network) and kept
for `CERTS_TTL_S` (Google rotates them over days; a token with an unknown `kid` refetches them, at
most once a minute, so forged tokens cannot drive fetches), so a push costs a signature check, not an
HTTP round trip.
`google.oauth2.id_token.verify_token` does the verification, over a request object that serves the
cached keys.
"""

import threading
import time

ISSUERS = ("https://accounts.google.com", "accounts.google.com")
GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
CERTS_TTL_S = 3600.0
REFETCH_MIN_S = 60.0  # an unknown kid refetches the keys at most this often (forged tokens cannot drive fetches)


class Refused(Exception):
    """The push is refused: `status` 401 (no valid token) or 403 (a valid token, the wrong identity)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


class _Response:
    def __init__(self, data: bytes):
        self.status, self.data, self.headers = 200, data, {}


class PushVerifier:
    def __init__(self, audience: str, service_account: str, certs_url: str | None = None,
                 ttl_s: float = CERTS_TTL_S):
        if not audience or not service_account:
            raise ValueError("the push verifier needs the OIDC audience and the Tasks service account")
        self.audience, self.service_account = audience, service_account
        self.certs_url = certs_url or GOOGLE_CERTS_URL
        self.ttl_s = ttl_s
        self._certs: bytes | None = None
        self._fetched = 0.0
        self._lock = threading.Lock()

    def _fetch(self) -> bytes:
        import google.auth.transport.requests

        response = google.auth.transport.requests.Request()(self.certs_url, method="GET")
        if response.status != 200:
            raise Refused(401, f"signing keys unavailable ({response.status})")
        return response.data

    def _keys(self, refresh: bool = False) -> bytes:
        with self._lock:
            if refresh or not self._fresh():
                self._certs, self._fetched = self._fetch(), time.monotonic()
            return self._certs

    def _fresh(self) -> bool:
        return self._certs is not None and time.monotonic() - self._fetched <= self.ttl_s

    async def _certs_now(self, refresh: bool = False) -> bytes:
        """The cached keys, or fetched in a worker thread (the HTTP call never blocks the event loop)."""
        if not refresh and self._fresh():
            return self._certs
        import asyncio

        return await asyncio.to_thread(self._keys, refresh)

    def _decode(self, token: str, certs: bytes) -> dict:
        from google.oauth2 import id_token

        return id_token.verify_token(token, lambda url, method="GET", **kw: _Response(certs),
                                     audience=self.audience, certs_url=self.certs_url)

    async def verify(self, authorization: str | None) -> dict:
        """The token's claims, or Refused."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refused(401, "missing bearer token")
        token = token.strip()
        try:
            try:
                claims = self._decode(token, await self._certs_now())
            except Exception as exc:  # noqa: BLE001 - an unknown kid: the keys may have rotated
                unknown_kid = "signing key" in str(exc).lower() or "certificate for key" in str(exc).lower()
                if not unknown_kid or time.monotonic() - self._fetched < REFETCH_MIN_S:
                    raise
                claims = self._decode(token, await self._certs_now(refresh=True))
        except Refused:
            raise
        except Exception as exc:  # noqa: BLE001 - google-auth and PyJWT raise many types; all are 401
            raise Refused(401, f"invalid token: {type(exc).__name__}") from None
        if claims.get("iss") not in ISSUERS:
            raise Refused(401, "invalid token: issuer")
        if claims.get("email") != self.service_account or claims.get("email_verified") not in (True, "true"):
            raise Refused(403, "the token is not the Tasks service account's")
        return claims
