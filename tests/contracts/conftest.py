"""One contract suite for every JobStore and JobQueue adapter.

To run the suite against a new adapter, add ONE entry to `store_factories` / `queue_factories`:

    async def dynamodb_store(tmp_path, clock=None): ...   # returns a fresh, empty JobStore
    store_factories["dynamodb"] = dynamodb_store
    store_twins["dynamodb"] = dynamodb_twin                 # a second instance on the same data

    async def sqs_queue(tmp_path, max_receives): ...       # returns a fresh, empty JobQueue
    queue_factories["sqs"] = sqs_queue

Factories are awaited inside the test's event loop (so adapters may open aiohttp/aioboto sessions
there) and each adapter is closed after its test. A factory that needs a server (moto, an emulator)
may `pytest.skip(...)` when the server is not available.
"""

import pytest

from skyrelay.runtime.queues.base import JobQueue
from skyrelay.runtime.queues.sqlite import SqliteJobQueue
from skyrelay.runtime.stores.base import JobStore
from skyrelay.runtime.stores.sqlite import SqliteJobStore


async def sqlite_store(tmp_path) -> JobStore:
    return SqliteJobStore(tmp_path / "jobs.db")


async def sqlite_queue(tmp_path, max_receives: int) -> JobQueue:
    return SqliteJobQueue(tmp_path / "queue.db", max_receives=max_receives)


async def sqs_queue(tmp_path, max_receives: int) -> JobQueue:
    """SQS on a real moto server (tests/aws/moto_server.py): two queues with DLQs, as AsyncJobs."""
    from tests.aws import moto_server

    if moto_server.endpoint() is None:
        pytest.skip("moto[server] is not installed")
    from skyrelay.runtime.queues.sqs import SqsJobQueue

    urls = moto_server.make_queues(max_receives)
    return SqsJobQueue(urls["interactive"], urls["batch"], client=moto_server.client("sqs"))


async def dynamodb_store(tmp_path) -> JobStore:
    """DynamoDB on a real moto server: a fresh table with AsyncJobs' key schema."""
    from tests.aws import moto_server

    if moto_server.endpoint() is None:
        pytest.skip("moto[server] is not installed")
    from skyrelay.runtime.stores.dynamodb import DynamoJobStore, create_table

    name = moto_server.unique("jobs")
    create_table(moto_server.client("dynamodb"), name)
    return DynamoJobStore(name, client=moto_server.client("dynamodb"))


def sqlite_twin(store) -> JobStore:
    return SqliteJobStore(store.db.path)


def dynamodb_twin(store) -> JobStore:
    from skyrelay.runtime.stores.dynamodb import DynamoJobStore
    from tests.aws import moto_server

    return DynamoJobStore(store.table, client=moto_server.client("dynamodb"))


store_factories = {"sqlite": sqlite_store, "dynamodb": dynamodb_store}
# A second instance over the same data, as another process or Lambda container would open it.
store_twins = {"sqlite": sqlite_twin, "dynamodb": dynamodb_twin}
queue_factories = {"sqlite": sqlite_queue, "sqs": sqs_queue}


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(params=sorted(store_factories))
async def store(request, tmp_path):
    s = await store_factories[request.param](tmp_path)
    yield s
    await s.close()


@pytest.fixture
async def twin(request, store):
    """Another store instance on `store`'s data (what a second worker container sees)."""
    other = store_twins[request.node.callspec.params["store"]](store)
    yield other
    await other.close()


@pytest.fixture(params=sorted(queue_factories))
async def queue_factory(request, tmp_path):
    """make(max_receives=5) -> a fresh, empty queue; closed after the test."""
    made = []

    async def make(max_receives: int = 5):
        q = await queue_factories[request.param](tmp_path, max_receives)
        made.append(q)
        return q

    yield make
    for q in made:
        await q.close()
