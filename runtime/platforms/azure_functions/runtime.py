"""The Azure deployment: what AsyncJobs and JobsApi wrote into the Function App's app settings (named
in skyrelay/deployment.py), read once per worker process.

The components deploy one Cosmos DB container (the job store and the shared limiter), one Service Bus
queue per priority with its dead-letter sub-queue, and Key Vault secrets. Secrets need no code here:
an app setting whose value is a Key Vault reference (`@Microsoft.KeyVault(SecretUri=...)`) reaches the
process already resolved by the platform, under its own name (SKYRELAY_WEBHOOK_SECRET,
SKYRELAY_PROVIDER_<NAME>_SECRET), through the Function App's identity (Key Vault Secrets User). So
`load_secrets` is None. Every data-plane call authenticates with the user-assigned identity whose
client id is AZURE_CLIENT_ID. The emulator variables exist for tests only.

Batch work (runtime/batch) lives in the batch container whose full URL is BATCH_BUCKET
(`https://<account>.blob.core.windows.net/<container>`): `_storage` splits it into the blob backend's
`account_url` and `container`, reached with the same identity. No BATCH_BUCKET: batch work is off.
"""

import os

from skyrelay import deployment as contract
from skyrelay.runtime.platforms import bootstrap


def _cosmos(env) -> dict:
    return {"endpoint": env.get(contract.COSMOS_ENDPOINT), "database": env.get(contract.COSMOS_DATABASE),
            "container": env.get(contract.COSMOS_CONTAINER), "client_id": env.get(contract.AZURE_CLIENT_ID),
            "emulator_key": env.get(contract.COSMOS_EMULATOR_KEY)}


def _store(env) -> dict:
    return {"backend": "cosmos", "options": _cosmos(env)}


def _queue(env) -> dict:
    options = {"namespace": env.get(contract.SERVICEBUS_NAMESPACE), "client_id": env.get(contract.AZURE_CLIENT_ID),
               "connection_string": env.get(contract.SERVICEBUS_EMULATOR_CONNECTION)}
    for p in contract.PRIORITIES:
        options[f"{p}_queue"] = env.get(contract.queue_name(p))
    return {"backend": "servicebus", "options": options}


def _shared_limiter(env) -> dict | None:
    """The job container holds the counters: shared by every instance, no Redis needed. (A stack that
    deploys Azure Cache for Redis names `limiter: {backend: redis}` in the config, which is kept.)"""
    if not env.get(contract.COSMOS_ENDPOINT):
        return None
    c = _cosmos(env)
    return {"backend": "cosmos", "cosmos_endpoint": c["endpoint"], "cosmos_database": c["database"],
            "cosmos_container": c["container"], "client_id": c["client_id"], "cosmos_emulator_key": c["emulator_key"]}


def container_url(url: str) -> tuple[str, str]:
    """BATCH_BUCKET's container URL -> (account_url, container); ValueError names the setting."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    container = parts.path.strip("/")
    if parts.scheme not in ("https", "http") or not parts.netloc or not container or "/" in container:
        raise ValueError(f"{contract.BATCH_BUCKET}: want https://<account>.blob.core.windows.net/<container>, "
                         f"got {url!r}")
    return f"{parts.scheme}://{parts.netloc}", container


def _storage(env) -> dict | None:
    """Batch work's blob container, or None when the stack deployed none (batch off)."""
    if not env.get(contract.BATCH_BUCKET):
        return None
    account_url, container = container_url(env[contract.BATCH_BUCKET])
    options = {"account_url": account_url, "container": container, "client_id": env.get(contract.AZURE_CLIENT_ID)}
    if env.get(contract.BLOB_EMULATOR_CONNECTION):
        options["connection_string"] = env[contract.BLOB_EMULATOR_CONNECTION]
    return {"backend": "blob", "options": options}


AZURE = bootstrap.Deployment("azure", store=_store, queue=_queue, shared_limiter=_shared_limiter, load_secrets=None,
                             storage=_storage)


def start(env=None) -> bootstrap.Started:
    env = os.environ if env is None else env
    # the host runs the app from its script root (the zip's root, where a skyrelay.yaml would be)
    return bootstrap.start(AZURE, env, root=env.get("AzureWebJobsScriptRoot", "."))
