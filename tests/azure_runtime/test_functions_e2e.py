"""End to end over the loopback peers, through the functions as azure-functions defines them
(`app.get_functions()`): the HTTP function submits (202 + Location), Cosmos holds the job, Service Bus
the message; the test plays the Functions host (receive, run the trigger function with an
azure.functions ServiceBusMessage built from the received message, then complete or abandon), the
worker calls the provider simulator, Cosmos ends COMPLETE, the poll answers COMPLETE, and the webhook
verifies with `standardwebhooks`. Then the failure cases: poison messages to the DLQ with the job
FAILED, a duplicate delivery, an expired lock's redelivery."""

import asyncio

import orjson
import pytest
from standardwebhooks import Webhook

from tests.azure_runtime.kit import FAST_UPSTREAMS, AzureKit
from tests.faults import BrokenReads
from tests.webhook_receiver import Hooks

pytestmark = pytest.mark.anyio


@pytest.fixture
async def kit(sim, monkeypatch):
    k = await AzureKit.start(sim, monkeypatch, max_receives=2)
    yield k
    await k.close()


async def poll(kit, job_id: str) -> dict:
    status, _, body = await kit.http("GET", f"/v1/jobs/{job_id}")
    assert status == 200
    return body


async def test_submit_trigger_complete_poll_and_signed_webhook(kit):
    hooks = await Hooks().start()
    try:
        status, headers, job = await kit.http("POST", "/v1/jobs", {
            "model": "fast", "messages": [{"role": "user", "content": "hello azure"}], "callback_url": hooks.url})
        assert status == 202 and job["status"] == "PENDING"
        assert {k.lower(): v for k, v in headers.items()}["location"] == f"/v1/jobs/{job['id']}"
        stored = await kit.store.get(job["id"])  # the Cosmos document
        assert stored is not None and stored.status.value == "PENDING" and stored.tenant == "demo-pro"
        received = await kit.receive()
        assert [orjson.loads(m.get_body())["job_id"] for _, m in received] == [job["id"]]
        assert received[0][1].delivery_count == 1 and received[0][0] == "interactive"

        assert [await kit.trigger(p, m) for p, m in received] == [None]
        done = await kit.store.get(job["id"])
        assert done.status.value == "COMPLETE" and done.attempts == 1 and done.result["text"]
        polled = await poll(kit, job["id"])
        assert polled["status"] == "COMPLETE" and polled["result"]["text"] == done.result["text"]
        assert sum(kit.sim.total(m) for m in FAST_UPSTREAMS) == 1
        assert kit.counts() == {"active": 0, "scheduled": 0, "locked": 0, "dead_lettered": 0}
        (body, hook_headers), = hooks.got
        event = Webhook(kit.secret).verify(body, hook_headers)
        assert event["data"]["id"] == job["id"] and event["data"]["status"] == "COMPLETE"
        assert (await poll(kit, job["id"]))["webhook"]["state"] == "delivered"
    finally:
        await hooks.stop()


async def test_provider_failing_job_is_failed_and_its_message_dead_lettered_with_the_reason(kit):
    kit.fail_fast_model("500")
    _, _, job = await kit.http("POST", "/v1/jobs", {"model": "fast", "prompt": "always fails"})
    seen = []
    for _ in range(4):  # attempt 1 is retried through a scheduled copy (the backoff), attempt 2 is the last
        got = await kit.receive(wait_s=3)
        if not got:
            break
        seen += [m.delivery_count for _, m in got]
        assert await kit.trigger(*got[0]) is None  # the worker settles: no abandon
    failed = await poll(kit, job["id"])
    assert failed["status"] == "FAILED" and failed["error"]["code"] == "upstream_server_error"
    assert failed["attempts"] == 2 and len(seen) == 2
    dead = await kit.dead_letters()
    assert [(d.job_id, d.reason, d.receive_count) for d in dead] == [(job["id"], "upstream_server_error", 2)]


async def test_a_crashing_message_reaches_the_dlq_at_max_delivery_count_and_its_job_is_failed(sim, monkeypatch):
    broken: dict = {}

    def worker():
        from skyrelay.runtime.platforms.azure_functions.worker import build

        handlers = build()
        handlers.worker.store = BrokenReads(handlers.store, broken["id"])
        return handlers

    kit = await AzureKit.start(sim, monkeypatch, max_receives=2, worker=worker)
    try:
        _, _, job = await kit.http("POST", "/v1/jobs", {"model": "fast", "prompt": "poison"})
        broken["id"] = job["id"]
        statuses = []
        for delivery in (1, 2):
            (got,) = await kit.receive()
            assert got[1].delivery_count == delivery
            error = await kit.trigger(*got)  # raises: the host abandons
            assert isinstance(error, RuntimeError)
            statuses.append((await poll(kit, job["id"]))["status"])
        assert statuses == ["PENDING", "FAILED"]  # FAILED on the last delivery, before Service Bus gives up
        assert await kit.receive(wait_s=1) == []
        assert kit.counts()["dead_lettered"] == 1
        (dead,) = await kit.dead_letters()
        assert (dead.job_id, dead.reason, dead.receive_count) == (job["id"], "MaxDeliveryCountExceeded", 2)
        failed = await poll(kit, job["id"])
        assert failed["error"]["code"] == "poison_message" and "read failed" in failed["error"]["message"]
        assert sum(kit.sim.total(m) for m in FAST_UPSTREAMS) == 0
    finally:
        await kit.close()


async def test_a_duplicate_delivery_completes_the_job_once(kit):
    from tests.contracts.azure_adapters import servicebus_producer

    _, _, job = await kit.http("POST", "/v1/jobs", {"model": "fast", "prompt": "once"})
    producer = servicebus_producer(kit.queues, 2)
    try:
        await producer.enqueue(job["id"])  # at least once: the same job again
    finally:
        await producer.close()
    got = await kit.receive(2)
    while len(got) < 2:
        got += await kit.receive(2 - len(got))
    assert {orjson.loads(m.get_body())["job_id"] for _, m in got} == {job["id"]}
    assert [await kit.trigger(p, m) for p, m in got] == [None, None]
    done = await poll(kit, job["id"])
    assert done["status"] == "COMPLETE" and done["attempts"] == 1
    stored = await kit.store.get(job["id"])
    assert [h["event"] for h in stored.history].count("completed") == 1
    assert sum(kit.sim.total(m) for m in FAST_UPSTREAMS) == 1
    assert kit.counts() == {"active": 0, "scheduled": 0, "locked": 0, "dead_lettered": 0}


async def test_an_expired_locks_redelivery_does_not_complete_the_job_twice(sim, monkeypatch):
    """The lock (2 s) expires while the provider is still answering (3 s: past any renewal the host
    would do); Service Bus redelivers the message and a second invocation runs beside the first, and
    finishes first. The job completes once; the first invocation's late result is discarded."""

    kit = await AzureKit.start(sim, monkeypatch, max_receives=5, lock_duration_s=2)
    try:
        _, _, job = await kit.http("POST", "/v1/jobs", {"model": "fast", "prompt": "slow"})
        sim.configure(latency_ms=3000)
        (first,) = await kit.receive(1)
        running = asyncio.create_task(kit.trigger(*first))
        (second,) = await kit.receive(1, wait_s=6)  # back after the lock expired
        assert second[1].delivery_count == 2 and second[1].lock_token != first[1].lock_token
        assert not running.done()
        sim.configure(latency_ms=0)  # the redelivery's call answers at once
        outcomes = await asyncio.gather(running, kit.trigger(*second))
        assert outcomes == [None, None]
        stored = await kit.store.get(job["id"])
        assert stored.status.value == "COMPLETE"
        assert [h["event"] for h in stored.history].count("completed") == 1
        calls = sum(kit.sim.total(m) for m in FAST_UPSTREAMS)
        # the slow first attempt hedges to the model's second deployment: each attempt calls each at most once
        assert stored.attempts <= calls <= stored.attempts * len(FAST_UPSTREAMS)
        assert await kit.receive(wait_s=1) == []
        assert kit.counts()["dead_lettered"] == 0
    finally:
        sim.configure(latency_ms=0)
        await kit.close()
