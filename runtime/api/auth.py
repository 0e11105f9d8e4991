"""API keys: stored as sha256 hex digests, compared in constant time, mapped to a tenant (and its tier).
The /metrics tokens work the same way, in their own set: no tenant key reads metrics."""

import hashlib
import hmac

from skyrelay.runtime.errors import Unauthorized
from skyrelay.runtime.router.config import Tenant


class KeyStore:
    def __init__(self, tenants: tuple[Tenant, ...] | list[Tenant]):
        self.by_hash: dict[str, Tenant] = {h: t for t in tenants for h in t.api_keys}

    def tenant_for(self, authorization: bytes | None, x_api_key: bytes | None = None) -> Tenant:
        digest = hashlib.sha256(_token(authorization, x_api_key)).hexdigest()
        tenant = self.by_hash.get(digest)
        # The lookup is keyed by a digest the caller cannot steer; the final check is constant time.
        if tenant is None or not any(hmac.compare_digest(digest, h) for h in tenant.api_keys):
            raise Unauthorized("invalid API key")
        return tenant


class TokenSet:
    """Bearer tokens that grant one thing (reading /metrics), stored as sha256 digests. Empty: closed."""

    def __init__(self, digests: tuple[str, ...] | list[str], what: str, config_key: str):
        self.digests = tuple(digests)
        self.what, self.config_key = what, config_key

    def check(self, authorization: bytes | None) -> None:
        if not self.digests:
            raise Unauthorized(f"{self.what} is closed: list the sha256 of a token in `{self.config_key}`")
        digest = hashlib.sha256(_token(authorization, None)).hexdigest()
        if not any(hmac.compare_digest(digest, h) for h in self.digests):
            raise Unauthorized(f"{self.what} needs a token from `{self.config_key}`")


def _token(authorization: bytes | None, x_api_key: bytes | None) -> bytes:
    if authorization is not None:
        scheme, _, token = authorization.partition(b" ")
        if scheme.lower() != b"bearer" or not token.strip():
            raise Unauthorized("expected `Authorization: Bearer <api key>`")
        return token.strip()
    if x_api_key:
        return x_api_key.strip()
    raise Unauthorized("missing API key")


def tenant_of(keys: KeyStore, headers: dict) -> Tenant:
    """The tenant a request's key belongs to, from its raw ASGI headers (Authorization: Bearer, or
    x-api-key): what every authenticated route starts with."""
    return keys.tenant_for(headers.get(b"authorization"), headers.get(b"x-api-key"))
