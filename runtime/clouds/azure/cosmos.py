"""Cosmos DB (NoSQL) container clients for the job store and the limiter: `azure-cosmos`'s async client,
imported on first use. The caller owns the client (one per store or limiter, made inside its event
loop) and closes it.

Production authenticates with the managed identity (the account has local auth disabled; the
component assigns the identity the built-in Data Contributor role on the account's data plane). The
emulator (tests) takes its key and a self-signed certificate: `emulator_key` switches both.
"""

from skyrelay.runtime.clouds.azure.identity import async_credential


def open_container(endpoint: str, database: str, container: str, *, client_id: str | None = None,
                   emulator_key: str | None = None):
    """(CosmosClient, ContainerProxy) for `database`/`container`."""
    from azure.cosmos.aio import CosmosClient

    if emulator_key:
        client = CosmosClient(endpoint, credential=emulator_key, connection_verify=False)
    else:
        client = CosmosClient(endpoint, credential=async_credential(client_id))
    return client, client.get_database_client(database).get_container_client(container)


async def create_container(endpoint: str, database: str, container: str, spec: dict, emulator_key: str) -> None:
    """The container a component deploys, on an emulator (tests, local runs): `spec` is
    skyrelay.deployment.COSMOS_CONTAINER_SPEC."""
    from azure.cosmos import PartitionKey
    from azure.cosmos.aio import CosmosClient

    async with CosmosClient(endpoint, credential=emulator_key, connection_verify=False) as client:
        db = await client.create_database_if_not_exists(database)
        pk = spec["partitionKey"]
        await db.create_container_if_not_exists(
            container, partition_key=PartitionKey(path=pk["paths"][0], kind=pk["kind"], version=pk["version"]),
            default_ttl=spec["defaultTtl"], indexing_policy=spec["indexingPolicy"])


class ContainerClient:
    """A container opened on first use and closed with its client: what the store and the limiter hold."""

    def __init__(self, endpoint: str, database: str, container: str, *, client_id: str | None = None,
                 emulator_key: str | None = None):
        self.endpoint, self.database, self.container_name = endpoint, database, container
        self.client_id, self.emulator_key = client_id, emulator_key
        self._client = self._container = None

    @property
    def container(self):
        if self._container is None:
            self._client, self._container = open_container(self.endpoint, self.database, self.container_name,
                                                           client_id=self.client_id, emulator_key=self.emulator_key)
        return self._container

    async def close(self) -> None:
        client, self._client, self._container = self._client, None, None
        if client is not None:
            await client.close()
