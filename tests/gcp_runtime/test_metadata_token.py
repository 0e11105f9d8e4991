"""Credentials on Cloud Run: the service account's access token from the metadata server (its
documented path, the `Metadata-Flavor: Google` header it requires), fetched once and reused, sent as
the Firestore REST adapter's bearer and as Vertex's (clouds/gcp/google_auth.py, without google-auth);
the emulator gets `Bearer owner`, as the SDK sends it."""

import pytest

from skyrelay.runtime.clouds.gcp import firestore as fs
from skyrelay.runtime.clouds.gcp import google_auth
from tests.contracts.gcp_adapters import PROJECT, fresh_collection
from tests.token_server import TokenServer


class Metadata(TokenServer):
    """The metadata server: a token only on its documented path with `Metadata-Flavor: Google`, unless
    `refuse` (as it answers a call without the header, or from outside the instance)."""

    def __init__(self):
        self.refuse = False
        super().__init__(self._token)

    def _token(self, path, headers):
        ok = (path == "/computeMetadata/v1/instance/service-accounts/default/token"
              and headers.get("Metadata-Flavor") == "Google" and not self.refuse)
        if not ok:
            return 403, {"error": "forbidden"}
        return 200, {"access_token": f"ya29.token-{len(self.seen)}", "expires_in": 3599, "token_type": "Bearer"}

    @property
    def calls(self) -> list[str]:
        return [path for path, _ in self.seen]


@pytest.fixture
def server():
    with Metadata() as metadata:
        yield metadata


@pytest.fixture
def metadata(server):
    return server.host


def test_the_metadata_token_is_fetched_once_and_shared(metadata, server):
    env = {"K_SERVICE": "jobs-worker", "GCE_METADATA_HOST": metadata}
    source = fs.token_source(env)
    assert source() == "ya29.token-1" and source() == "ya29.token-1"
    assert fs.token_source(env) is source  # the store and the limiter share it
    assert server.calls == [google_auth.METADATA_TOKEN_PATH]
    client = fs.CollectionClient(PROJECT, "jobs", env=env)
    assert client._headers()["Authorization"] == "Bearer ya29.token-1"
    assert client.host == fs.FIRESTORE_HOST  # production: TLS to Firestore, not the emulator


def test_a_refused_metadata_call_is_an_unauthenticated_error(metadata, server):
    server.refuse = True
    with pytest.raises(fs.FirestoreError) as refused:
        fs._MetadataToken(metadata)()
    assert refused.value.status == "UNAUTHENTICATED" and refused.value.http_status == 403


def test_the_emulator_gets_bearer_owner():
    client = fs.CollectionClient(PROJECT, fresh_collection())
    assert client.emulator and client._headers()["Authorization"] == "Bearer owner"


@pytest.mark.anyio
async def test_vertex_tokens_on_cloud_run_come_from_the_metadata_server(metadata, server, monkeypatch):
    import google.auth

    monkeypatch.setenv("K_SERVICE", "jobs-worker")
    monkeypatch.setenv("GCE_METADATA_HOST", metadata)
    monkeypatch.setattr(google.auth, "default", lambda **kw: pytest.fail("google-auth ADC used on Cloud Run"))
    cache = google_auth.GoogleTokenCache()
    assert await cache.token() == "ya29.token-1" and await cache.token() == "ya29.token-1"
    assert server.calls == [google_auth.METADATA_TOKEN_PATH]
    server.refuse = True
    with pytest.raises(google_auth.UpstreamAuth):  # a refused refresh is the upstream's auth failure
        await google_auth.GoogleTokenCache().token()
