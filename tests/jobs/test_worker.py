"""The worker: failover through the router, retries and attempts, poison jobs, duplicates, shutdown."""

import asyncio
import time

import pytest

from skyrelay.runtime.canonical import ChatResult, Usage
from skyrelay.runtime.errors import ContentFiltered, RateLimited, UpstreamServerError
from tests.jobs.kit import call, runtime

pytestmark = pytest.mark.anyio
JOB = {"model": "fast", "prompt": "hello"}


async def wait_final(rt, job_id, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = await rt.store.get(job_id)
        if job.status in ("COMPLETE", "FAILED"):
            return job
        await asyncio.sleep(0.01)
    raise AssertionError(f"{job_id} still {job.status}")


async def submit(rt, **kw):
    r = await call(rt.app, "POST", "/v1/jobs", json={**JOB, **kw})
    assert r.status == 202, r.body
    return r.json["id"]


class Counting:
    """A fake `generate` that fails by prompt: `poison` always, `filtered` with a final error."""

    def __init__(self, fail_times: int = 0):
        self.calls: dict[str, int] = {}
        self.fail_times = fail_times

    async def __call__(self, request, tenant, preference=None):
        prompt = request.messages[0].content
        n = self.calls[prompt] = self.calls.get(prompt, 0) + 1
        if prompt == "poison" or n <= self.fail_times:
            raise UpstreamServerError("boom")
        if prompt == "filtered":
            raise ContentFiltered("no")
        return ChatResult(f"echo {prompt}", Usage(3, 0, 0, 2), "stop", "fake-model")


async def test_primary_failing_secondary_serves_the_job(tmp_path):
    rt, fake = runtime(tmp_path, workers=1)
    fake.script("a", UpstreamServerError("primary down"))
    await rt.start()
    try:
        job = await wait_final(rt, await submit(rt))
    finally:
        await rt.stop()
    assert job.status == "COMPLETE" and job.served_by == "b"
    assert fake.calls["a"] >= 1 and fake.calls["b"] == 1
    assert job.cost is not None and job.usage["total_tokens"] == 15


@pytest.mark.parametrize("stream_sync", [False, True], ids=["plain-call", "read-from-stream"])
async def test_jobs_worker_stream_sync_decides_how_a_job_reads_its_answer(tmp_path, stream_sync):
    """jobs.worker.stream_sync, not timeouts.stream_sync (on here, as shipped), decides: by default a job's
    attempt is one plain upstream call; switched on, the answer is read from an upstream stream."""
    rt, fake = runtime(tmp_path, workers=1, worker={"stream_sync": stream_sync})
    assert rt.config.timeouts.stream_sync is True
    await rt.start()
    try:
        job = await wait_final(rt, await submit(rt))
    finally:
        await rt.stop()
    assert job.status == "COMPLETE" and job.served_by == "a"
    assert (fake.calls["a"], fake.streams["a"]) == (1, 1 if stream_sync else 0)  # calls count streams too


async def test_retryable_failure_is_retried_and_logged(tmp_path):
    gen = Counting(fail_times=2)
    rt, _ = runtime(tmp_path, workers=1, generate=gen)
    await rt.start()
    try:
        job = await wait_final(rt, await submit(rt))
    finally:
        await rt.stop()
    assert job.status == "COMPLETE" and job.attempts == 3 and gen.calls["hello"] == 3
    assert [h["event"] for h in job.history] == ["retry", "retry", "completed"]


async def test_poison_job_fails_after_max_attempts_and_is_dead_lettered(tmp_path):
    gen = Counting()
    rt, _ = runtime(tmp_path, workers=1, generate=gen, worker={"max_attempts": 4})
    await rt.start()
    try:
        job_id = await submit(rt, prompt="poison")
        ok_id = await submit(rt, prompt="fine")
        job = await wait_final(rt, job_id)
        ok = await wait_final(rt, ok_id)
        dead = await rt.queue.dead_letters()
    finally:
        await rt.stop()
    assert job.status == "FAILED" and job.attempts == 4 and gen.calls["poison"] == 4
    assert job.error["code"] == "upstream_server_error"
    assert [d.job_id for d in dead] == [job_id]
    assert ok.status == "COMPLETE"


async def test_final_upstream_error_fails_at_once_without_dead_letter(tmp_path):
    gen = Counting()
    rt, _ = runtime(tmp_path, workers=1, generate=gen)
    await rt.start()
    try:
        job = await wait_final(rt, await submit(rt, prompt="filtered"))
        dead = await rt.queue.dead_letters()
    finally:
        await rt.stop()
    assert job.status == "FAILED" and job.error["code"] == "content_filtered"
    assert gen.calls["filtered"] == 1 and dead == []


async def test_duplicate_delivery_completes_once(tmp_path):
    gen = Counting()
    rt, _ = runtime(tmp_path, workers=2, generate=gen)
    job_id = await submit(rt)
    for _ in range(3):  # the same job delivered four times in all
        await rt.queue.enqueue(job_id)
    await rt.start()
    try:
        job = await wait_final(rt, job_id)
        end = time.monotonic() + 5
        while await rt.queue.depth() and time.monotonic() < end:
            await asyncio.sleep(0.01)
        assert await rt.queue.depth() == 0
    finally:
        await rt.stop()
    assert job.status == "COMPLETE"
    assert [h["event"] for h in job.history].count("completed") == 1
    assert gen.calls["hello"] <= job.attempts


async def test_shutdown_releases_in_flight_jobs(tmp_path):
    started = asyncio.Event()

    async def hang(request, tenant, preference=None):
        started.set()
        await asyncio.sleep(3600)

    rt, _ = runtime(tmp_path, workers=1, generate=hang)
    await rt.start()
    job_id = await submit(rt)
    await asyncio.wait_for(started.wait(), 5)
    assert (await rt.store.get(job_id)).status == "PROCESSING"
    await asyncio.gather(*(w.stop(grace_s=0) for w in rt.workers))
    job = await rt.store.get(job_id)
    assert job.status == "PENDING" and job.attempts == 0
    msgs = await rt.queue.receive(1, 30)  # visible again at once
    assert [m.job_id for m in msgs] == [job_id]
    await rt.stop()


async def test_tenant_rate_limit_in_worker_defers_without_spending_attempts(tmp_path):
    calls = []

    async def limited_once(request, tenant, preference=None):
        calls.append(time.monotonic())
        if len(calls) <= 2:
            raise RateLimited("over rpm", retry_after=0.05)
        return ChatResult("ok", Usage(1, 0, 0, 1))

    rt, _ = runtime(tmp_path, workers=1, generate=limited_once, worker={"max_attempts": 1})
    await rt.start()
    try:
        job = await wait_final(rt, await submit(rt))
    finally:
        await rt.stop()
    assert job.status == "COMPLETE" and job.attempts == 1 and len(calls) == 3
