"""The Cloud Tasks peer (tests/wirepeers/cloudtasks.py) behaves as the service does where the runtime
depends on it, driven by the real google-cloud-tasks client: the backoff schedule of a queue's
retry config, a task deleted after max_attempts (no DLQ), TaskExecutionCount not counting 5xx
answers, a name that stays taken after its task is gone, max_concurrent_dispatches, and the OIDC
token it signs (issuer, audience, email) verifying against the JWKS it publishes."""

import asyncio
import time

import pytest
from aiohttp import web
from multidict import CIMultiDict

from tests import peers
from tests.contracts.gcp_adapters import LOCATION, PROJECT, TASKS_SA

pytestmark = pytest.mark.anyio


def test_backoff_doubles_max_doublings_times_then_grows_linearly_to_max_backoff():
    from tests.wirepeers.cloudtasks import Queue

    q = Queue("q", {"retryConfig": {"minBackoff": "10s", "maxBackoff": "300s", "maxDoublings": 3}})
    # the schedule Cloud Tasks documents for min 10 s, max 300 s, 3 doublings
    assert [q.backoff(n) for n in range(1, 9)] == [10, 20, 40, 80, 160, 240, 300, 300]


class Endpoint:
    def __init__(self, statuses, hold_s: float = 0.0):
        self.statuses, self.hold_s, self.got, self.active, self.peak = list(statuses), hold_s, [], 0, 0

    async def start(self):
        async def push(request):
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.got.append(CIMultiDict(request.headers))  # header names are case-insensitive
            await asyncio.sleep(self.hold_s)
            self.active -= 1
            return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

        app = web.Application()
        app.router.add_post("/tasks", push)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/tasks"
        return self

    async def stop(self):
        await self.runner.cleanup()


def create(queue: str, name: str | None, url: str, audience: str | None = None):
    from google.cloud import tasks_v2

    task = tasks_v2.Task(http_request=tasks_v2.HttpRequest(
        url=url, http_method=tasks_v2.HttpMethod.POST, body=b"{}",
        oidc_token=tasks_v2.OidcToken(service_account_email=TASKS_SA, audience=audience or url)))
    if name:
        task.name = f"{queue}/tasks/{name}"
    return peers.cloudtasks().client().create_task(parent=queue, task=task)


async def wait_settled(queue: str, timeout_s: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stats = peers.cloudtasks().stats(queue)
        if stats["tasks"] == 0:
            return stats
        await asyncio.sleep(0.05)
    raise AssertionError(stats)


async def test_a_task_failing_every_attempt_is_deleted_after_max_attempts_and_its_name_stays_taken():
    from google.api_core.exceptions import Conflict  # HTTP 409 ALREADY_EXISTS over REST

    tasks = peers.cloudtasks()
    queue = tasks.create_queue(PROJECT, LOCATION, f"peer-{time.time_ns()}", max_attempts=3, min_backoff_s=0.1,
                               max_backoff_s=0.1)
    hook = await Endpoint([503, 500, 503, 200]).start()
    try:
        await asyncio.to_thread(create, queue, "t1", hook.url)
        stats = await wait_settled(queue)
        assert stats["exhausted"] == ["t1"] and stats["succeeded"] == 0 and len(hook.got) == 3
        retries = [h["X-CloudTasks-TaskRetryCount"] for h in hook.got]
        executions = [h["X-CloudTasks-TaskExecutionCount"] for h in hook.got]
        assert retries == ["0", "1", "2"] and executions == ["0", "0", "0"]  # 5xx answers are not executions
        assert hook.got[1]["X-CloudTasks-TaskPreviousResponse"] == "503"
        with pytest.raises(Conflict):  # the name stays taken after the task is gone
            await asyncio.to_thread(create, queue, "t1", hook.url)
    finally:
        await hook.stop()


async def test_max_concurrent_dispatches_and_the_signed_token():
    from skyrelay.runtime.clouds.gcp.oidc import PushVerifier

    tasks = peers.cloudtasks()
    queue = tasks.create_queue(PROJECT, LOCATION, f"peer-{time.time_ns()}", max_attempts=2, max_concurrent=2)
    hook = await Endpoint([], hold_s=0.3).start()
    try:
        for _ in range(6):
            await asyncio.to_thread(create, queue, None, hook.url, "https://aud.example/tasks")
        stats = await wait_settled(queue)
        assert stats["succeeded"] == 6 and hook.peak == 2
        token = hook.got[0]["Authorization"]
        claims = await PushVerifier("https://aud.example/tasks", TASKS_SA, tasks.certs_url).verify(token)
        assert (claims["iss"], claims["email"], claims["email_verified"]) == ("https://accounts.google.com", TASKS_SA, True)
        assert hook.got[0]["User-Agent"] == "Google-Cloud-Tasks"
        assert hook.got[0]["X-CloudTasks-QueueName"] == queue.rsplit("/", 1)[-1]
    finally:
        await hook.stop()


async def test_an_answer_cut_off_mid_body_is_a_failed_attempt_and_the_task_is_retried():
    """A worker SIGKILLed while it writes its answer: headers sent, the body cut short. Cloud Tasks
    counts that as a failed attempt; the peer once left such a task in flight forever (the durability
    test then waited on a job that nothing would push again)."""
    tasks = peers.cloudtasks()
    queue = tasks.create_queue(PROJECT, LOCATION, f"peer-{time.time_ns()}", max_attempts=3, min_backoff_s=0.1,
                               max_backoff_s=0.1)
    answers = [b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\ncut", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]
    pushes = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
        await reader.readexactly(length)
        pushes.append(head)
        writer.write(answers[min(len(pushes), len(answers)) - 1])
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/tasks"
    try:
        await asyncio.to_thread(create, queue, "cut", url)
        stats = await wait_settled(queue)
        assert stats["succeeded"] == 1 and stats["dispatched"] == 2 and stats["exhausted"] == [], stats
        assert b"x-cloudtasks-taskretrycount: 1" in pushes[1].lower()  # urllib recapitalizes names
    finally:
        server.close()
        await server.wait_closed()
