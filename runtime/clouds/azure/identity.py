"""The async credential the Azure data-plane clients (Cosmos DB, Service Bus) share: the Function App's
user-assigned managed identity when the component names its client id, else DefaultAzureCredential
(a developer's `az login`, a workload identity, a system-assigned identity).

One credential per process: its token cache is shared by every client that uses it. azure-identity is
imported on first use only.
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
