"""Azure auth: api-key header, and the Entra token cache (fetched once, refreshed near expiry)."""

import asyncio
import time
from types import SimpleNamespace

import pytest

from skyrelay.runtime.errors import UpstreamAuth
from skyrelay.runtime.providers.azure_openai import auth
from skyrelay.runtime.providers.base import HttpCall, Upstream


class FakeCredential:
    def __init__(self, lifetime_s: float):
        self.calls, self.lifetime_s, self.scopes = 0, lifetime_s, []

    def get_token(self, scope):
        self.calls += 1
        self.scopes.append(scope)
        return SimpleNamespace(token=f"entra-{self.calls}", expires_on=int(time.time() + self.lifetime_s))


def _sign(upstream):
    call = HttpCall("POST", "https://x", {}, b"")
    asyncio.run(auth.SIGNER.sign(upstream, call))
    return call.headers


def test_api_key_header():
    assert _sign(Upstream("azure_openai", "d", auth="api_key", api_key="k1")) == {"api-key": "k1"}
    with pytest.raises(UpstreamAuth):
        _sign(Upstream("azure_openai", "d", auth="api_key"))


def test_entra_token_cached_then_refreshed_near_expiry():
    cred = FakeCredential(3600)
    auth.use_credential(cred)
    up = Upstream("azure_openai", "d", auth="entra")
    try:
        assert _sign(up)["authorization"] == "Bearer entra-1"
        assert _sign(up)["authorization"] == "Bearer entra-1"
        assert cred.calls == 1 and cred.scopes == ["https://cognitiveservices.azure.com/.default"]
        soon = FakeCredential(60)  # expires within the refresh margin
        auth.use_credential(soon)
        _sign(up)
        _sign(up)
        assert soon.calls == 2
    finally:
        auth.use_credential(None)
