"""The GCP entries of the contract suites (registered in tests/contracts/conftest.py): the Firestore
store on the gcloud Firestore emulator, and Cloud Tasks as the Cloud Run worker meets it (pushes from
the in-project Cloud Tasks peer, tests/wirepeers/cloudtasks.py, answered by a test endpoint)."""

import contextlib
import uuid

from tests import peers

PROJECT = "skyrelay-test"


def fresh_collection(prefix: str = "jobs") -> str:
    peers.firestore()
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def firestore_on(collection: str, **kw):
    from skyrelay.runtime.stores.firestore import FirestoreJobStore

    peers.firestore()
    return FirestoreJobStore(PROJECT, collection, **kw)


@contextlib.asynccontextmanager
async def sdk_collection(collection: str):
    """The collection through google-cloud-firestore's async client (a test dependency only: the
    runtime speaks REST), for tests that read or write around the store, and the pinning tests."""
    import asyncio

    from google.cloud.firestore import AsyncClient

    peers.firestore()
    client = AsyncClient(project=PROJECT)
    try:
        yield client.collection(collection)
    finally:
        api = getattr(client, "_firestore_api_internal", None)  # the gRPC channel (Client.close leaves it)
        if api is not None:
            await api.transport.close()
            await asyncio.sleep(0.05)  # let gRPC complete the closed channel's calls on this loop
        client.close()


async def firestore_store(tmp_path):
    return firestore_on(fresh_collection())


def firestore_twin(store):
    return firestore_on(store.collection_name)


LOCATION = "us-central1"
TASKS_SA = "skyrelay-tasks@skyrelay-test.iam.gserviceaccount.com"


def tasks_queues(max_receives: int, min_backoff_s: float = 1.0, max_doublings: int = 0,
                 max_backoff_s: float = 1.0, **kw) -> dict[str, str]:
    """One fresh queue per priority on the session's Cloud Tasks peer, as AsyncJobs deploys them."""
    tasks = peers.cloudtasks()
    tag = uuid.uuid4().hex[:8]
    return {p: tasks.create_queue(PROJECT, LOCATION, f"jobs-{p}-{tag}", max_attempts=max_receives,
                                  min_backoff_s=min_backoff_s, max_backoff_s=max_backoff_s,
                                  max_doublings=max_doublings, **kw)
            for p in ("interactive", "batch")}


class PushEndpoint:
    """The worker's /tasks as the contract suite meets it: an HTTP endpoint on loopback that the peer
    pushes to; each push is held open until the test settles its delivery, then answered with the
    delivery's status (what the Cloud Run handler does)."""

    async def start(self) -> "PushEndpoint":
        import asyncio

        from aiohttp import web

        self.pushes: asyncio.Queue = asyncio.Queue()

        async def push(request):
            answer = asyncio.get_running_loop().create_future()
            await self.pushes.put((dict(request.headers), await request.read(), answer))
            try:
                status = await answer
            except asyncio.CancelledError:
                status = 500
            return web.Response(status=status)

        app = web.Application()
        app.router.add_post("/tasks", push)
        self.runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/tasks"
        self.open: list = []
        return self

    async def take(self, n: int, first_wait_s: float = 0.5, more_wait_s: float = 0.3) -> list:
        import asyncio

        out = []
        wait = first_wait_s
        while len(out) < n:
            try:
                out.append(await asyncio.wait_for(self.pushes.get(), wait))
            except TimeoutError:
                break
            wait = more_wait_s
        self.open.extend(a for _, _, a in out)
        return out

    async def stop(self) -> None:
        for answer in self.open:
            if not answer.done():
                answer.set_result(500)
        await self.runner.cleanup()


def tasks_producer(queues: dict[str, str], worker_url: str, max_receives: int | None, **kw):
    from skyrelay.runtime.queues.cloudtasks import CloudTasksQueue

    return CloudTasksQueue(queues, worker_url, TASKS_SA, endpoint=peers.cloudtasks().endpoint,
                           max_receives=max_receives, **kw)


async def cloudtasks_push_queue(tmp_path, max_receives: int):
    """Cloud Tasks as the Cloud Run worker meets it: pushes from the peer, each a CloudTasksDelivery;
    `finish` answers each held push with its delivery's status. No dead letters (Cloud Tasks has none)."""
    from skyrelay.runtime.queues.cloudtasks import CloudTasksDelivery
    from tests.contracts.conftest import QueueUnderTest

    endpoint = await PushEndpoint().start()
    producer = tasks_producer(tasks_queues(max_receives), endpoint.url, max_receives)
    answers: dict[int, object] = {}

    async def deliver(n: int, visibility_s: float):
        out = []
        for headers, body, answer in await endpoint.take(n):
            d = CloudTasksDelivery.from_push(producer, headers, body)
            answers[id(d)] = answer
            out.append(d)
        out.sort(key=lambda d: d.priority != "interactive")  # what is ready at once, interactive first
        return out

    async def finish(batch) -> None:
        for d in batch:
            answer = answers.pop(id(d))
            if not answer.done():
                answer.set_result(d.answer)

    async def close() -> None:
        await endpoint.stop()
        await producer.close()

    return QueueUnderTest(producer, deliver, finish, None, None, close)
