"""The async credential the Azure data-plane SDK clients (Service Bus) share: the Function App's
user-assigned managed identity when the component names its client id, else DefaultAzureCredential
(a developer's `az login`, a workload identity, a system-assigned identity).

One credential per process: its token cache is shared by every client that uses it. azure-identity is
imported on first use only.

The stdlib REST clients (Cosmos DB: clouds/azure/cosmos.py) take a bearer token instead, from
`token_cache`: on Functions the platform's managed identity endpoint answers it over plain HTTP
(`AppServiceIdentity`, the request azure-identity makes there; tests/azure_runtime/test_cosmos_rest.py
pins the two), so a cold worker imports no azure-identity at all.
"""

_credentials: dict = {}


def async_credential(client_id: str | None = None):
    """The process's credential for `client_id` (None: DefaultAzureCredential)."""
    if client_id not in _credentials:
        if client_id:
            from azure.identity.aio import ManagedIdentityCredential

            _credentials[client_id] = ManagedIdentityCredential(client_id=client_id)
        else:
            from azure.identity.aio import DefaultAzureCredential

            _credentials[client_id] = DefaultAzureCredential()
    return _credentials[client_id]


# ---- bearer tokens for the stdlib REST clients (Cosmos DB) ----
IDENTITY_API_VERSION = "2019-08-01"  # azure.identity._credentials.app_service's
_caches: dict = {}


class AppServiceIdentity:
    """The App Service / Functions managed identity endpoint (IDENTITY_ENDPOINT, IDENTITY_HEADER, as the
    platform sets them), asked over stdlib HTTP as azure-identity's ManagedIdentityCredential asks it:
    GET <endpoint>?api-version=2019-08-01&resource=<scope without /.default>[&client_id=<id>] with the
    X-IDENTITY-HEADER secret. `get_token(scope)` has azure-identity's shape (.token, .expires_on)."""

    def __init__(self, endpoint: str, secret: str, client_id: str | None = None, timeout_s: float = 10.0):
        self.endpoint, self.secret, self.client_id, self.timeout_s = endpoint, secret, client_id, timeout_s

    def url(self, scope: str) -> str:
        from urllib.parse import urlencode

        params = {"api-version": IDENTITY_API_VERSION, "resource": scope.removesuffix("/.default")}
        if self.client_id:
            params["client_id"] = self.client_id
        return f"{self.endpoint}{'&' if '?' in self.endpoint else '?'}{urlencode(params)}"

    def get_token(self, scope: str):
        import http.client
        import json
        import time
        from types import SimpleNamespace
        from urllib.parse import urlsplit

        url = urlsplit(self.url(scope))
        kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        conn = kind(url.netloc, timeout=self.timeout_s)  # the platform's local endpoint (http on App Service)
        try:
            conn.request("GET", f"{url.path or '/'}?{url.query}", headers={"X-IDENTITY-HEADER": self.secret})
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise RuntimeError(f"managed identity endpoint: HTTP {resp.status}: {body[:200]!r}")
        doc = json.loads(body)
        expires_on = int(doc.get("expires_on") or time.time() + int(doc["expires_in"]))
        return SimpleNamespace(token=doc["access_token"], expires_on=expires_on)


def sync_credential(client_id: str | None = None, env=None):
    """The managed identity endpoint over stdlib when the platform provides one (Functions, App Service),
    else azure-identity's synchronous credential (imported only then)."""
    import os

    env = os.environ if env is None else env
    if env.get("IDENTITY_ENDPOINT") and env.get("IDENTITY_HEADER"):
        return AppServiceIdentity(env["IDENTITY_ENDPOINT"], env["IDENTITY_HEADER"], client_id)
    if client_id:
        from azure.identity import ManagedIdentityCredential

        return ManagedIdentityCredential(client_id=client_id)
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def token_cache(scope: str, client_id: str | None = None):
    """The process's token cache for (`scope`, `client_id`): an EntraTokenCache (refreshed five minutes
    before expiry) over `sync_credential`."""
    key = (scope, client_id)
    if key not in _caches:
        from skyrelay.runtime.clouds.azure.entra import EntraTokenCache

        _caches[key] = EntraTokenCache(scope, sync_credential(client_id))
    return _caches[key]
