"""The JobQueue contract (runtime/queues/base.py), run against every adapter in conftest.queue_factories.

Visibility timeouts and delays are whole seconds, so SQS-like adapters can run the same suite.
"""

import asyncio

import pytest

pytestmark = pytest.mark.anyio


async def drain(q, n=10, vis=30.0):
    out = []
    while True:
        got = await q.receive(n, vis)
        if not got:
            return out
        out += got


async def test_enqueue_receive_ack(queue_factory):
    q = await queue_factory()
    await q.enqueue("j1")
    await q.enqueue("j2")
    assert await q.depth() == 2
    msgs = await drain(q)
    assert sorted(m.job_id for m in msgs) == ["j1", "j2"]
    assert all(m.receive_count == 1 for m in msgs)
    assert await q.depth() == 2  # in flight still counts
    for m in msgs:
        assert await q.ack(m)
    assert await q.depth() == 0
    assert await q.receive(10, 1) == []


async def test_interactive_before_batch(queue_factory):
    q = await queue_factory()
    await q.enqueue("b1", "batch")
    await q.enqueue("b2", "batch")
    await q.enqueue("i1", "interactive")
    first = await q.receive(1, 30)
    assert [m.job_id for m in first] == ["i1"] and first[0].priority == "interactive"
    rest = await drain(q)
    assert sorted(m.job_id for m in rest) == ["b1", "b2"]


async def test_unacked_message_is_redelivered_after_visibility_timeout(queue_factory):
    q = await queue_factory()
    await q.enqueue("j1")
    (m1,) = await q.receive(1, 1)
    assert await q.receive(1, 1) == []  # hidden
    await asyncio.sleep(1.5)
    (m2,) = await q.receive(1, 30)
    assert m2.job_id == "j1" and m2.receive_count == 2
    assert not await q.ack(m1)  # stale receipt
    assert await q.ack(m2)
    assert await q.depth() == 0


async def test_concurrent_receivers_never_share_a_message(queue_factory):
    q = await queue_factory()
    for i in range(20):
        await q.enqueue(f"j{i}")
    batches = await asyncio.gather(*(q.receive(5, 30) for _ in range(6)))
    ids = [m.job_id for b in batches for m in b]
    assert len(ids) == len(set(ids)) == 20


async def test_nack_returns_the_message(queue_factory):
    q = await queue_factory()
    await q.enqueue("j1")
    (m,) = await q.receive(1, 30)
    assert await q.nack(m, 0)
    (again,) = await q.receive(1, 30)
    assert again.job_id == "j1" and again.receive_count == 2


async def test_nack_with_delay_hides_the_message(queue_factory):
    q = await queue_factory()
    await q.enqueue("j1")
    (m,) = await q.receive(1, 30)
    assert await q.nack(m, 60)
    assert await q.receive(1, 30) == []
    assert await q.depth() == 1


async def test_delayed_enqueue(queue_factory):
    q = await queue_factory()
    await q.enqueue("later", delay_s=60)
    await q.enqueue("now")
    assert [m.job_id for m in await drain(q)] == ["now"]
    assert await q.depth() == 2


async def test_extend_keeps_a_message_hidden(queue_factory):
    q = await queue_factory()
    await q.enqueue("j1")
    (m,) = await q.receive(1, 1)
    assert await q.extend(m, 60)
    await asyncio.sleep(1.5)
    assert await q.receive(1, 30) == []
    assert await q.ack(m)


async def test_max_receives_dead_letters(queue_factory):
    q = await queue_factory(max_receives=2)
    await q.enqueue("poison")
    for _ in range(2):
        (m,) = await q.receive(1, 30)
        await q.nack(m, 0)
    assert await q.receive(1, 30) == []
    assert await q.depth() == 0
    dead = await q.dead_letters()
    assert [d.job_id for d in dead] == ["poison"]
    assert dead[0].receive_count == 2


async def test_explicit_dead_letter_records_reason(queue_factory):
    q = await queue_factory()
    await q.enqueue("j1")
    await q.enqueue("j2")
    (m,) = await q.receive(1, 30)
    assert await q.dead_letter(m, "max_attempts")
    assert await q.depth() == 1
    dead = await q.dead_letters()
    assert [(d.job_id, d.reason) for d in dead] == [(m.job_id, "max_attempts")]


async def test_bad_priority_is_rejected(queue_factory):
    q = await queue_factory()
    with pytest.raises(ValueError):
        await q.enqueue("j1", "urgent")
