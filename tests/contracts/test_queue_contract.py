"""The queue ports (runtime/queues/base.py), run against every entry in conftest.queue_factories:
producer and delivery semantics for every adapter as its platform delivers (pull or push), then the
pull queues' own receive, visibility and receipt semantics.

Visibility timeouts and delays are whole seconds, so SQS-like adapters run the same suite.
"""

import asyncio

import pytest

from skyrelay.runtime.canonical import ChatResult, Usage
from skyrelay.runtime.errors import UpstreamServerError
from skyrelay.runtime.jobs.config import JobsConfig
from skyrelay.runtime.jobs.delivery import deliver
from skyrelay.runtime.jobs.model import JobStatus
from skyrelay.runtime.jobs.worker import Worker
from skyrelay.runtime.stores.sqlite import SqliteJobStore
from tests.contracts.conftest import EXCLUSIVE, job_ids
from tests.contracts.test_store_contract import make_job

pytestmark = pytest.mark.anyio


async def settle_all(q, settle, n=10, vis=30.0):
    """Takes what is delivered now and settles each with `settle(delivery)`, as a handler would."""
    got = await q.deliver(n, vis)
    for d in got:
        await settle(d)
    await q.finish(got)
    return got


# ---- producer and delivery: every adapter ----
async def test_ack_is_final(queue_factory):
    q = await queue_factory()
    await q.producer.enqueue("j1")
    await q.producer.enqueue("j2")
    got = await q.deliver(10, 1)
    assert job_ids(got) == ["j1", "j2"] and all(d.receive_count == 1 for d in got)
    for d in got:
        assert await d.ack()
    await q.finish(got)
    await asyncio.sleep(1.5)  # past the visibility timeout: an unsettled message would be back
    assert await q.deliver(10, 1) == []
    assert await q.producer.depth() in (0, None)


async def test_retry_delivers_again_after_its_delay(queue_factory):
    q = await queue_factory()
    await q.producer.enqueue("j1")
    (first,) = await settle_all(q, lambda d: d.retry(1))
    assert first.receive_count == 1
    assert await q.deliver(10, 30) == []  # not before the delay
    await asyncio.sleep(1.5)
    (again,) = await q.deliver(10, 30)
    assert again.job_id == "j1" and again.receive_count == 2 and again.id == first.id


async def test_the_queue_dead_letters_after_max_receives(queue_factory):
    q = await queue_factory(max_receives=2)
    await q.producer.enqueue("poison")
    seen = []
    for _ in range(2):
        for _ in range(20):  # wait out a retry backoff where the queue decides it (Cloud Tasks)
            got = await settle_all(q, lambda d: d.retry(0))
            if got:
                break
        (d,) = got
        seen.append((d.receive_count, d.last))
    assert seen == [(1, False), (2, True)]  # the second delivery knew it was the last
    assert await q.deliver(10, 30) == []
    assert await q.producer.depth() in (0, None)
    if q.dead_letters is not None:
        dead = await q.dead_letters()
        assert [(d.job_id, d.receive_count) for d in dead] == [("poison", 2)]


async def test_dead_letter_gives_up_at_once_with_a_reason(queue_factory):
    q = await queue_factory()
    await q.producer.enqueue("j1")
    (d,) = await settle_all(q, lambda d: d.dead_letter("max_attempts"))
    assert d.job_id == "j1"
    await asyncio.sleep(1.2)
    assert await q.deliver(10, 1) == []
    if q.dead_letters is not None:
        assert [(x.job_id, x.reason) for x in await q.dead_letters()] == [("j1", "max_attempts")]


async def test_delayed_enqueue_and_priorities(queue_factory):
    q = await queue_factory()
    await q.producer.enqueue("later", delay_s=60)
    await q.producer.enqueue("b1", "batch")
    await q.producer.enqueue("i1", "interactive")
    got = await q.deliver(10, 30)
    assert [d.job_id for d in got] == ["i1", "b1"] and [d.priority for d in got] == ["interactive", "batch"]
    assert await q.producer.depth() in (3, None)


async def test_bad_priority_is_rejected(queue_factory):
    q = await queue_factory()
    with pytest.raises(ValueError):
        await q.producer.enqueue("j1", "urgent")


class AlwaysFailing:
    """A provider that keeps failing retryably (5xx), counting calls."""

    def __init__(self):
        self.calls = 0

    async def __call__(self, request, tenant, preference=None):
        self.calls += 1
        raise UpstreamServerError("provider keeps failing")


async def run_deliveries(q, worker, rounds: int, vis: float = 30.0) -> None:
    for _ in range(rounds):
        for _ in range(40):  # wait out the retry backoff
            got = await q.deliver(10, vis)
            if got:
                break
            await asyncio.sleep(0.1)
        else:
            return
        await deliver(worker, got)
        await q.finish(got)


async def test_a_job_that_keeps_failing_ends_failed_on_its_last_attempt(queue_factory, tmp_path):
    """The FAILED job is what remains where the queue has no DLQ; where it has one, the message is there."""
    q = await queue_factory(max_receives=3)
    store = SqliteJobStore(tmp_path / "jobs.db")
    cfg = JobsConfig.model_validate({"queue": {"max_receives": 3, "visibility_timeout_s": 30},
                                     "worker": {"max_attempts": 3, "backoff_base_s": 0, "backoff_max_s": 0}})
    provider = AlwaysFailing()
    worker = Worker(store, q.producer, provider, cfg, sweep=False)
    job, _ = await store.create(make_job())
    await q.producer.enqueue(job.id)
    await run_deliveries(q, worker, rounds=5)
    failed = await store.get(job.id)
    assert failed.status == JobStatus.FAILED and provider.calls == 3 == failed.attempts
    assert failed.error["code"] == "upstream_server_error" and "after 3 attempts" in failed.error["message"]
    assert await q.deliver(10, 30) == []
    if q.dead_letters is not None:
        assert [d.job_id for d in await q.dead_letters()] == [job.id]
    await worker.sender.close()
    await store.close()


async def test_a_handler_crash_on_the_last_delivery_fails_the_job(queue_factory, tmp_path):
    """Poison: the handler itself raises (here, its store cannot be read); the queue gives the message
    up after max_receives, so the job is marked FAILED on that last delivery."""
    q = await queue_factory(max_receives=2)
    store = SqliteJobStore(tmp_path / "jobs.db")
    job, _ = await store.create(make_job())

    class UnreadableStore:
        async def get(self, job_id, tenant=None):
            raise RuntimeError("read failed")

        def __getattr__(self, name):
            return getattr(store, name)

    worker = Worker(UnreadableStore(), q.producer, AlwaysFailing(), JobsConfig(), sweep=False)
    await q.producer.enqueue(job.id)
    statuses = []
    for _ in range(2):
        (d,) = await q.deliver(1, 1)
        crashes = await deliver(worker, [d])
        await q.finish([d])
        assert isinstance(crashes[0], RuntimeError)
        statuses.append((await store.get(job.id)).status)
        await asyncio.sleep(1.2)  # the unsettled delivery comes back after the visibility timeout
    assert statuses == [JobStatus.PENDING, JobStatus.FAILED]
    assert (await store.get(job.id)).error["code"] == "poison_message"
    assert await q.deliver(10, 1) == []
    await worker.sender.close()
    await store.close()


async def test_a_job_that_succeeds_is_acked_once(queue_factory, tmp_path):
    q = await queue_factory()
    store = SqliteJobStore(tmp_path / "jobs.db")

    async def answer(request, tenant, preference=None):
        return ChatResult("ok", Usage(1, 0, 0, 1), "stop", "m")

    worker = Worker(store, q.producer, answer, JobsConfig(), sweep=False)
    job, _ = await store.create(make_job())
    await q.producer.enqueue(job.id)
    await run_deliveries(q, worker, rounds=1, vis=1)
    await asyncio.sleep(1.2)
    assert await q.deliver(10, 1) == []
    assert (await store.get(job.id)).status == JobStatus.COMPLETE
    await worker.sender.close()
    await store.close()


# ---- pull queues: receive, visibility, receipts ----
async def drain(q, n=10, vis=30.0):
    out = []
    while True:
        got = await q.receive(n, vis)
        if not got:
            return out
        out += got


async def test_pull_depth_counts_in_flight(pull_queue):
    q = await pull_queue()
    await q.enqueue("j1")
    await q.enqueue("j2")
    assert await q.depth() == 2
    got = await drain(q)
    assert job_ids(got) == ["j1", "j2"]
    assert await q.depth() == 2  # in flight still counts
    for d in got:
        assert await d.ack()
    assert await q.depth() == 0


async def test_pull_unacked_message_is_redelivered_after_visibility_timeout(pull_queue):
    q = await pull_queue()
    await q.enqueue("j1")
    (m1,) = await q.receive(1, 1)
    assert await q.receive(1, 1) == []  # hidden
    await asyncio.sleep(1.5)
    (m2,) = await q.receive(1, 30)
    assert m2.job_id == "j1" and m2.receive_count == 2
    assert not await m1.ack()  # stale receipt
    assert await m2.ack()
    assert await q.depth() == 0


async def test_pull_concurrent_receivers_get_every_message(pull_queue, request):
    """Every message reaches one of the receivers; SQLite never hands one out twice. SQS standard
    queues are at least once (moto's threaded server shows it under load): the worker's claim
    makes a second copy harmless (tests/jobs, tests/aws duplicate-delivery tests)."""
    q = await pull_queue()
    for i in range(20):
        await q.enqueue(f"j{i}")
    batches = await asyncio.gather(*(q.receive(5, 30) for _ in range(6)))
    ids = [d.job_id for b in batches for d in b]
    assert sorted(set(ids)) == sorted(f"j{i}" for i in range(20))
    if request.node.callspec.params["pull_queue"] in EXCLUSIVE:
        assert len(ids) == 20


async def test_pull_extend_keeps_a_message_hidden(pull_queue):
    q = await pull_queue()
    await q.enqueue("j1")
    (d,) = await q.receive(1, 1)
    assert await d.extend(60)
    await asyncio.sleep(1.5)
    assert await q.receive(1, 30) == []
    assert await d.ack()


async def test_pull_retry_with_delay_hides_the_message(pull_queue):
    q = await pull_queue()
    await q.enqueue("j1")
    (d,) = await q.receive(1, 30)
    assert await d.retry(60)
    assert await q.receive(1, 30) == []
    assert await q.depth() == 1
