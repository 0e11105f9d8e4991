"""The Firestore collection the job store and the limiter share: `google-cloud-firestore`'s async
client, imported and opened on first use, inside the event loop that uses it (its gRPC channel is
bound to that loop). The caller owns the client and closes it.

On Cloud Run the client authenticates as the service's own service account (metadata-server
credentials through google-auth); the component grants it roles/datastore.user. With
FIRESTORE_EMULATOR_HOST set (tests, local runs) the client library itself talks to the emulator
without credentials.
"""

import asyncio
import datetime as dt

CLOSE_DRAIN_S = 0.05
CONFLICTS = ("AlreadyExists", "Conflict", "FailedPrecondition", "NotFound", "Aborted")


def errors():
    from google.api_core import exceptions

    return exceptions


def conflict_errors() -> tuple[type[BaseException], ...]:
    """What a conditional write raises when its precondition failed (exists, update_time, missing)."""
    exceptions = errors()
    return tuple(getattr(exceptions, name) for name in CONFLICTS)


def timestamp(epoch_s: float) -> dt.datetime:
    """A Firestore timestamp (what a TTL policy deletes on) from epoch seconds."""
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC)


class CollectionClient:
    """A collection opened on first use and closed with its client: what the store and the limiter hold."""

    def __init__(self, project: str, collection: str, database: str | None = None):
        self.project, self.collection_name = project, collection
        self.database = database or "(default)"
        self._client = None

    @property
    def client(self):
        if self._client is None:
            from google.cloud.firestore import AsyncClient

            self._client = AsyncClient(project=self.project, database=self.database)
        return self._client

    @property
    def collection(self):
        return self.client.collection(self.collection_name)

    def precondition(self, update_time):
        """The write option that makes a write conditional on the document's update_time."""
        return self.client.write_option(last_update_time=update_time)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        api = getattr(client, "_firestore_api_internal", None)  # the gRPC channel (Client.close leaves it)
        if api is not None:
            await api.transport.close()
            # gRPC completes the closed channel's streaming calls on this loop a moment later; let them
            # land here, not on a loop that is gone (one loop per process in production; many in tests).
            await asyncio.sleep(CLOSE_DRAIN_S)
        client.close()
