"""Vertex auth: a Google OAuth bearer token (`clouds/gcp/google_auth.py`), or an API key."""

from skyrelay.runtime.clouds.gcp.google_auth import GoogleTokenCache
from skyrelay.runtime.errors import UpstreamAuth
from skyrelay.runtime.providers.base import HttpCall, Upstream

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
