"""The Azure entries of the contract suites (registered in tests/contracts/conftest.py): the Cosmos DB
store on the cosmosdb-server peer, and Service Bus as the Functions host delivers it, on the
in-project AMQP peer, with the test playing the host."""

import uuid

from skyrelay.deployment import COSMOS_CONTAINER_SPEC
from tests import peers

DATABASE = "skyrelay"


async def fresh_container(prefix: str = "jobs") -> str:
    from skyrelay.runtime.clouds.azure.cosmos import create_container

    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    await create_container(peers.cosmos(), DATABASE, name, COSMOS_CONTAINER_SPEC, peers.COSMOS_EMULATOR_KEY)
    return name


def cosmos_on(container: str, **kw):
    from skyrelay.runtime.stores.cosmos import CosmosJobStore

    return CosmosJobStore(peers.cosmos(), DATABASE, container, emulator_key=peers.COSMOS_EMULATOR_KEY, **kw)


async def cosmos_store(tmp_path):
    return cosmos_on(await fresh_container())


def cosmos_twin(store):
    return cosmos_on(store.container_name)
