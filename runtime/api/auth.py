"""API keys: stored as sha256 hex digests, compared in constant time, mapped to a tenant (and its tier)."""

import hashlib
import hmac

from skyrelay.runtime.errors import Unauthorized
from skyrelay.runtime.router.config import Tenant


class KeyStore:
    def __init__(self, tenants: tuple[Tenant, ...] | list[Tenant]):
        self.by_hash: dict[str, Tenant] = {h: t for t in tenants for h in t.api_keys}

    def tenant_for(self, authorization: bytes | None, x_api_key: bytes | None = None) -> Tenant:
        if authorization is not None:
            scheme, _, token = authorization.partition(b" ")
            if scheme.lower() != b"bearer" or not token.strip():
                raise Unauthorized("expected `Authorization: Bearer <api key>`")
            token = token.strip()
        elif x_api_key:
            token = x_api_key.strip()
        else:
            raise Unauthorized("missing API key")
        digest = hashlib.sha256(token).hexdigest()
        tenant = self.by_hash.get(digest)
        # The lookup is keyed by a digest the caller cannot steer; the final check is constant time.
        if tenant is None or not any(hmac.compare_digest(digest, h) for h in tenant.api_keys):
            raise Unauthorized("invalid API key")
        return tenant
