"""The JobStore contract (runtime/stores/base.py), run against every adapter in conftest.store_factories."""

import asyncio
import time

import pytest

from skyrelay.runtime.jobs.model import OPEN, Job, JobStatus, new_job_id

pytestmark = pytest.mark.anyio


def make_job(tenant="acme", key=None, created_at=None, ttl=3600.0, **kw) -> Job:
    now = created_at if created_at is not None else time.time()
    return Job(id=new_job_id(), tenant=tenant, status=JobStatus.PENDING,
               request={"model": "fast", "messages": [{"role": "user", "content": "hi"}]},
               model="fast", created_at=now, updated_at=now, expires_at=now + ttl, idempotency_key=key, **kw)


async def test_create_then_get_round_trips(store):
    job = make_job(metadata={"k": [1, 2]}, callback_url="https://example.com/hook")
    stored, created = await store.create(job)
    assert created
    got = await store.get(job.id)
    assert got == stored == job


async def test_same_idempotency_key_returns_the_first_job(store):
    first, created1 = await store.create(make_job(key="k1"))
    second, created2 = await store.create(make_job(key="k1"))
    assert (created1, created2) == (True, False)
    assert second.id == first.id
    page, _ = await store.list("acme")
    assert [j.id for j in page] == [first.id]


async def test_idempotency_keys_are_per_tenant(store):
    a, _ = await store.create(make_job(tenant="a", key="same"))
    b, created = await store.create(make_job(tenant="b", key="same"))
    assert created and a.id != b.id


async def test_concurrent_creates_with_one_key_store_one_job(store):
    results = await asyncio.gather(*(store.create(make_job(key="race")) for _ in range(8)))
    assert sum(created for _, created in results) == 1
    assert len({job.id for job, _ in results}) == 1


async def test_get_is_tenant_scoped(store):
    job, _ = await store.create(make_job(tenant="a"))
    assert await store.get(job.id, tenant="a") is not None
    assert await store.get(job.id, tenant="b") is None
    assert await store.get("job_does_not_exist") is None


async def test_transition_applies_only_from_expected_status(store):
    job, _ = await store.create(make_job())
    claimed = await store.transition(job.id, [JobStatus.PENDING], JobStatus.PROCESSING, {"attempts": 1})
    assert claimed is not None and claimed.status == JobStatus.PROCESSING and claimed.attempts == 1
    assert await store.transition(job.id, [JobStatus.PENDING], JobStatus.PROCESSING, {"attempts": 2}) is None
    got = await store.get(job.id)
    assert got.attempts == 1 and got.status == JobStatus.PROCESSING


async def test_transition_checks_attempts(store):
    job, _ = await store.create(make_job())
    await store.transition(job.id, [JobStatus.PENDING], JobStatus.PROCESSING, {"attempts": 1})
    stale = await store.transition(job.id, [JobStatus.PROCESSING], JobStatus.COMPLETE, {}, expect_attempts=0)
    assert stale is None
    done = await store.transition(job.id, [JobStatus.PROCESSING], JobStatus.COMPLETE,
                                  {"result": {"text": "ok"}}, expect_attempts=1)
    assert done.status == JobStatus.COMPLETE and done.result == {"text": "ok"}


async def test_completion_happens_once_under_concurrency(store):
    job, _ = await store.create(make_job())
    await store.transition(job.id, [JobStatus.PENDING], JobStatus.PROCESSING, {"attempts": 1})
    outs = await asyncio.gather(*(store.transition(job.id, [JobStatus.PROCESSING], JobStatus.COMPLETE,
                                                   {"result": {"text": str(i)}}) for i in range(6)))
    winners = [o for o in outs if o is not None]
    assert len(winners) == 1
    assert (await store.get(job.id)).result == winners[0].result


async def test_final_states_never_move_back(store):
    job, _ = await store.create(make_job())
    await store.transition(job.id, [JobStatus.PENDING], JobStatus.FAILED, {"error": {"code": "cancelled"}})
    for target in JobStatus:
        assert await store.transition(job.id, OPEN, target, {}) is None
    assert (await store.get(job.id)).status == JobStatus.FAILED


async def test_update_without_status_change(store):
    job, _ = await store.create(make_job())
    await store.transition(job.id, [JobStatus.PENDING], JobStatus.COMPLETE, {})
    out = await store.transition(job.id, [JobStatus.COMPLETE], None, {"webhook": {"id": "x", "state": "delivered"}})
    assert out.status == JobStatus.COMPLETE and out.webhook["state"] == "delivered"
    assert out.updated_at >= job.updated_at


async def test_transition_of_unknown_job_is_none(store):
    assert await store.transition("job_nope", OPEN, JobStatus.COMPLETE, {}) is None


async def test_list_pages_newest_first_without_gaps_or_repeats(store):
    base = time.time()
    ids = []
    for i in range(7):
        job, _ = await store.create(make_job(tenant="a", created_at=base + i))
        ids.append(job.id)
    await store.create(make_job(tenant="b", created_at=base + 3))
    seen, cursor, pages = [], None, 0
    while True:
        page, cursor = await store.list("a", limit=3, cursor=cursor)
        pages += 1
        seen += [j.id for j in page]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    assert pages == 3


async def test_list_same_timestamp_pages_cleanly(store):
    now = time.time()
    ids = {(await store.create(make_job(created_at=now)))[0].id for _ in range(5)}
    seen, cursor = [], None
    while True:
        page, cursor = await store.list("acme", limit=2, cursor=cursor)
        seen += [j.id for j in page]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)


async def test_list_filters_by_status_and_tenant(store):
    a1, _ = await store.create(make_job(tenant="a"))
    await store.create(make_job(tenant="a"))
    await store.create(make_job(tenant="b"))
    await store.transition(a1.id, [JobStatus.PENDING], JobStatus.COMPLETE, {})
    done, _ = await store.list("a", status=JobStatus.COMPLETE)
    assert [j.id for j in done] == [a1.id]
    page, _ = await store.list("c")
    assert page == []


async def test_expired_jobs_are_invisible_and_free_their_key(store):
    old, _ = await store.create(make_job(key="k", created_at=time.time() - 100, ttl=10))
    assert await store.get(old.id) is None
    assert (await store.list("acme"))[0] == []
    assert await store.transition(old.id, OPEN, JobStatus.PROCESSING, {}) is None
    fresh, created = await store.create(make_job(key="k"))
    assert created and fresh.id != old.id


async def test_find_idempotent_reads_the_live_job_a_key_names(store):
    job, _ = await store.create(make_job(tenant="a", key="k1"))
    await store.create(make_job(tenant="a", key="old", created_at=time.time() - 100, ttl=50))  # expired
    found = await store.find_idempotent("a", "k1")
    assert found is not None and found.id == job.id
    assert await store.find_idempotent("b", "k1") is None  # per tenant
    assert await store.find_idempotent("a", "nope") is None
    assert await store.find_idempotent("a", "old") is None  # an expired job does not hold its key


async def test_stale_lists_old_jobs_in_one_status_oldest_update_first(store):
    now = time.time()
    a, _ = await store.create(make_job(created_at=now - 300))
    b, _ = await store.create(make_job(tenant="other", created_at=now - 200))
    await store.create(make_job(created_at=now))  # fresh
    await store.create(make_job(created_at=now - 400, ttl=100))  # expired
    c, _ = await store.create(make_job(created_at=now - 250))
    assert await store.transition(c.id, [JobStatus.PENDING], JobStatus.PROCESSING) is not None  # other status

    assert [j.id for j in await store.stale(JobStatus.PENDING, now - 10)] == [a.id, b.id]
    assert [j.id for j in await store.stale(JobStatus.PENDING, now - 10, limit=1)] == [a.id]
    assert await store.stale(JobStatus.COMPLETE, now - 10) == []
    # touching a job (any transition bumps updated_at) makes it fresh again
    assert await store.transition(a.id, [JobStatus.PENDING], None, {"metadata": {"t": 1}}) is not None
    assert [j.id for j in await store.stale(JobStatus.PENDING, now - 10)] == [b.id]


async def test_a_second_instance_never_acts_on_a_stale_view(store, twin):
    """Two workers (processes, Lambda containers) on one store: what one read before the other
    wrote must not let it claim twice, complete twice, or write over the other's update."""
    job, _ = await store.create(make_job())
    assert (await store.get(job.id)).status == JobStatus.PENDING  # `store` has now seen it PENDING
    assert (await twin.get(job.id)).status == JobStatus.PENDING
    claimed = await twin.transition(job.id, [JobStatus.PENDING], JobStatus.PROCESSING, {"attempts": 1},
                                    expect_attempts=0)
    assert claimed is not None
    assert await store.transition(job.id, [JobStatus.PENDING], JobStatus.PROCESSING, {"attempts": 1},
                                  expect_attempts=0) is None  # the twin got it first
    noted = await store.transition(job.id, [JobStatus.PROCESSING], None, {"metadata": {"note": "from store"}})
    assert noted is not None and noted.attempts == 1  # written over the twin's claim, not the old view
    done = await twin.transition(job.id, [JobStatus.PROCESSING], JobStatus.COMPLETE, {"result": {"text": "ok"}})
    assert done is not None and done.metadata == {"note": "from store"}  # the twin's own last view was stale too
    assert await store.transition(job.id, [JobStatus.PROCESSING], JobStatus.COMPLETE, {}) is None
    final = await store.get(job.id)
    assert (final.status, final.attempts, final.result) == (JobStatus.COMPLETE, 1, {"text": "ok"})
    assert final.metadata == {"note": "from store"}
