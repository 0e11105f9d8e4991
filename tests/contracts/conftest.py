"""One contract suite for every JobStore and every queue adapter, as its platform uses it.

To run the suite against a new adapter, add ONE entry:

    async def cosmos_store(tmp_path): ...            # a fresh, empty JobStore
    store_factories["cosmos"] = cosmos_store
    store_twins["cosmos"] = cosmos_twin               # a second instance on the same data

    async def servicebus_queue(tmp_path, max_receives) -> QueueUnderTest: ...
    queue_factories["servicebus"] = servicebus_queue

A `QueueUnderTest` is the queue as a worker meets it: a producer, the deliveries its platform hands
out now (`deliver`), what the platform does with a settled batch (`finish`: Lambda deletes the
records reported done; nothing for the others), the dead letters where the queue keeps them, and
the pull queue itself where there is one (the visibility and receipt tests run on those only).

Factories are awaited inside the test's event loop, and each adapter is closed after its test.
Peers (moto, emulators) come from tests/peers.py: a missing one fails the test, never skips it.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from skyrelay.runtime.queues.base import DeadLetter, Delivery, PullQueue, QueueProducer
from skyrelay.runtime.queues.sqlite import SqliteJobQueue
from skyrelay.runtime.stores.base import JobStore
from skyrelay.runtime.stores.sqlite import SqliteJobStore
from tests.contracts import azure_adapters


@dataclass
class QueueUnderTest:
    producer: QueueProducer
    deliver: Callable[[int, float], Awaitable[list[Delivery]]]  # (max, visibility s) -> deliveries now
    finish: Callable[[list[Delivery]], Awaitable[None]]
    dead_letters: Callable[[], Awaitable[list[DeadLetter]]] | None  # None: the queue keeps no DLQ
    pull: PullQueue | None
    close: Callable[[], Awaitable[None]]


async def _nothing(_batch) -> None:
    return None


def pulled(queue) -> QueueUnderTest:
    return QueueUnderTest(queue, queue.receive, _nothing, queue.dead_letters, queue, queue.close)


async def sqlite_store(tmp_path) -> JobStore:
    return SqliteJobStore(tmp_path / "jobs.db")


async def sqlite_queue(tmp_path, max_receives: int) -> QueueUnderTest:
    return pulled(SqliteJobQueue(tmp_path / "queue.db", max_receives=max_receives))


def _sqs(max_receives: int):
    """Two queues with DLQs on the session's moto server, as AsyncJobs deploys them."""
    from skyrelay.runtime.queues.sqs import SqsJobQueue
    from tests.aws import moto_server

    urls = moto_server.make_queues(max_receives)
    queue = SqsJobQueue(urls["interactive"], urls["batch"], client=moto_server.client("sqs"),
                        max_receives=max_receives)
    return queue, urls


async def sqs_queue(tmp_path, max_receives: int) -> QueueUnderTest:
    """SQS polled by a long-lived worker (SqsJobQueue.receive)."""
    return pulled(_sqs(max_receives)[0])


async def sqs_lambda_queue(tmp_path, max_receives: int) -> QueueUnderTest:
    """SQS as Lambda's event source mapping delivers it: the test receives like the mapping, hands
    the worker genuine SQS event records (EventSourceDelivery), and deletes the records done."""
    from skyrelay.runtime.queues.sqs import EventSourceDelivery
    from tests.aws import moto_server

    queue, urls = _sqs(max_receives)
    sqs = moto_server.client("sqs")
    owner: dict[str, str] = {}

    async def deliver(n: int, visibility_s: float) -> list[Delivery]:
        out = []
        for priority in ("interactive", "batch"):
            got = sqs.receive_message(QueueUrl=urls[priority], MaxNumberOfMessages=min(10, n - len(out)),
                                      VisibilityTimeout=int(visibility_s), MessageSystemAttributeNames=["All"])
            for m in got.get("Messages", []):
                owner[m["MessageId"]] = urls[priority]
                out.append(EventSourceDelivery(queue, {
                    "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                    "attributes": m["Attributes"], "eventSource": "aws:sqs"}))
            if len(out) >= n:
                break
        return out

    async def finish(batch: list[Delivery]) -> None:
        for d in batch:
            if d.done:
                sqs.delete_message(QueueUrl=owner[d.id], ReceiptHandle=d.message.receipt)

    return QueueUnderTest(queue, deliver, finish, queue.dead_letters, None, queue.close)


async def dynamodb_store(tmp_path) -> JobStore:
    """DynamoDB on the session's moto server: a fresh table with AsyncJobs' key schema."""
    from skyrelay.runtime.stores.dynamodb import DynamoJobStore, create_table
    from tests.aws import moto_server

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

# ---- Azure (tests/contracts/azure_adapters.py) ----
store_factories["cosmos"] = azure_adapters.cosmos_store
store_twins["cosmos"] = azure_adapters.cosmos_twin
queue_factories = {"sqlite": sqlite_queue, "sqs": sqs_queue, "sqs-lambda": sqs_lambda_queue}
queue_factories["servicebus-functions"] = azure_adapters.servicebus_functions_queue  # Azure

# ---- GCP (tests/contracts/gcp_adapters.py) ----
from tests.contracts import gcp_adapters  # noqa: E402 - beside its registrations

store_factories["firestore"] = gcp_adapters.firestore_store
store_twins["firestore"] = gcp_adapters.firestore_twin
queue_factories["cloudtasks-push"] = gcp_adapters.cloudtasks_push_queue
PULL = ("sqlite", "sqs")  # the entries whose adapter is a PullQueue
EXCLUSIVE = ("sqlite",)  # pull queues that never hand one message to two concurrent receivers


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


class _Queues:
    """Fresh queues of one factory for one test, all closed after it."""

    def __init__(self, name: str, tmp_path):
        self.name, self.tmp_path, self.made = name, tmp_path, []

    async def make(self, max_receives: int = 5) -> QueueUnderTest:
        q = await queue_factories[self.name](self.tmp_path, max_receives)
        self.made.append(q)
        return q

    async def close(self) -> None:
        for q in self.made:
            await q.close()


@pytest.fixture(params=sorted(queue_factories))
async def queue_factory(request, tmp_path):
    """make(max_receives=5) -> a fresh, empty QueueUnderTest."""
    queues = _Queues(request.param, tmp_path)
    yield queues.make
    await queues.close()


@pytest.fixture(params=sorted(PULL))
async def pull_queue(request, tmp_path):
    """make(max_receives=5) -> a fresh pull queue (receive, visibility and receipts of its own)."""
    queues = _Queues(request.param, tmp_path)

    async def make(max_receives: int = 5) -> PullQueue:
        return (await queues.make(max_receives)).pull

    yield make
    await queues.close()


def job_ids(deliveries) -> list[str]:
    return sorted(d.job_id for d in deliveries)
