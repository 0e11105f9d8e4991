"""The Cloud Tasks client: `google-cloud-tasks` over its REST transport (no gRPC channel to bind to an
event loop, and an `api_endpoint` on loopback reaches the tests' peer), imported on first use.

Production authenticates with Application Default Credentials (on Cloud Run: the service's own
service account, which the component makes a `roles/cloudtasks.enqueuer` on the queues and
`roles/iam.serviceAccountUser` on the Tasks service account whose OIDC token each task carries). An
`endpoint` (SKYRELAY_TASKS_ENDPOINT, tests only) talks plain HTTP with anonymous credentials.

The client is synchronous; callers run it in a worker thread (`asyncio.to_thread`).
"""

_clients: dict = {}


def tasks_client(endpoint: str | None = None):
    """The process's CloudTasksClient for `endpoint` (None: the service's own)."""
    if endpoint not in _clients:
        from google.cloud import tasks_v2

        if endpoint:
            from google.api_core.client_options import ClientOptions
            from google.auth.credentials import AnonymousCredentials

            url = endpoint if "://" in endpoint else f"http://{endpoint}"
            _clients[endpoint] = tasks_v2.CloudTasksClient(
                transport="rest", credentials=AnonymousCredentials(), client_options=ClientOptions(api_endpoint=url))
        else:
            _clients[endpoint] = tasks_v2.CloudTasksClient(transport="rest")
    return _clients[endpoint]
