"""End to end over the loopback peers, through the two Cloud Run services as processes: the API
service submits (202 + Location), Firestore holds the job, Cloud Tasks the task; the peer pushes to
the worker with an OIDC token signed by its key, the worker checks it, calls the provider simulator,
Firestore ends COMPLETE, the poll answers COMPLETE, and the webhook verifies with `standardwebhooks`.
Then the failure cases: pushes without a valid token or from another identity (401/403, nothing
changes), a job that keeps failing (FAILED at its last attempt, with the reason; the task gone), a
duplicate push (completes once), and SIGTERM mid-job."""

import asyncio
import signal

import pytest
from standardwebhooks import Webhook

from tests.gcp_runtime.kit import FAST_UPSTREAMS, GcpKit
from tests.webhook_receiver import Hooks

pytestmark = pytest.mark.anyio


@pytest.fixture
async def kit(sim):
    k = GcpKit.start(sim, max_receives=2)
    yield k
    await k.close()


def upstream_calls(kit) -> int:
    return sum(kit.sim.total(m) for m in FAST_UPSTREAMS)


async def test_submit_push_complete_poll_and_signed_webhook(kit):
    hooks = await Hooks().start()
    try:
        status, headers, job = await kit.http("POST", "/v1/jobs", {
            "model": "fast", "messages": [{"role": "user", "content": "hello gcp"}], "callback_url": hooks.url})
        assert status == 202 and job["status"] == "PENDING"
        assert {k.lower(): v for k, v in headers.items()}["location"] == f"/v1/jobs/{job['id']}"
        done = await kit.wait_final(job["id"])  # the Firestore document, through the test's own store
        assert done.status.value == "COMPLETE" and done.attempts == 1 and done.result["text"]
        assert done.tenant == "demo-pro"
        status, _, polled = await kit.http("GET", f"/v1/jobs/{job['id']}")
        assert status == 200 and polled["status"] == "COMPLETE" and polled["result"]["text"] == done.result["text"]
        assert upstream_calls(kit) == 1
        stats = await kit.settled()
        assert stats["interactive"]["succeeded"] == 1 and stats["interactive"]["exhausted"] == []
        for _ in range(50):
            if hooks.got:
                break
            await asyncio.sleep(0.1)
        (body, hook_headers), = hooks.got
        event = Webhook(kit.secret).verify(body, hook_headers)
        assert event["data"]["id"] == job["id"] and event["data"]["status"] == "COMPLETE"
        # the metric line Cloud Logging turns into the dashboard's log-based metrics
        (line,) = kit.metric_lines()
        assert (line["Status"], line["Tenant"], line["Mode"], line["Jobs"]) == ("COMPLETE", "demo-pro", "on_demand", 1)
        assert line["Tokens"] == done.usage["total_tokens"] > 0 and line["LatencyMs"] > 0
        assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "skyrelay"
    finally:
        await hooks.stop()


async def test_pushes_without_a_valid_token_or_identity_are_refused_and_change_nothing(kit):
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tests.contracts.gcp_adapters import firestore_on
    from tests.contracts.test_store_contract import make_job

    job, _ = await kit.store.create(make_job(tenant="demo-pro"))
    body = {"job_id": job.id, "priority": "interactive"}
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"iss": "https://accounts.google.com", "aud": kit.worker_url, "email": kit.env[
        "SKYRELAY_TASKS_SERVICE_ACCOUNT"], "email_verified": True, "iat": 1, "exp": 4_000_000_000},
        other_key, algorithm="RS256", headers={"kid": "not-the-peers"})
    cases = {
        "none": (None, 401),
        "garbage": ("not-a-jwt", 401),
        "wrong audience": (kit.token(aud="https://other-service.run.app/tasks"), 401),
        "another key": (forged, 401),
        "expired": (kit.token(exp_in_s=-3600), 401),
        "another identity": (kit.token(email="someone-else@skyrelay-test.iam.gserviceaccount.com"), 403),
    }
    for name, (token, expected) in cases.items():
        status, out = await kit.push(body, token)
        assert status == expected, (name, status, out)
        assert out["error"]["code"] == ("unauthenticated" if expected == 401 else "forbidden_identity")
    for path in ("/sweep", "/batch"):  # Cloud Scheduler's endpoints: the same check
        status, _ = await kit.push(b"", None, path=path)
        assert status == 401
    view = firestore_on(kit.collection)
    try:
        unchanged = await view.get(job.id)
    finally:
        await view.close()
    assert unchanged == job  # not claimed, not touched
    assert upstream_calls(kit) == 0
    status, out = await kit.push(body, kit.token())  # the right token: the job runs
    assert status == 200 and (await kit.wait_final(job.id)).status.value == "COMPLETE"


async def test_a_job_that_keeps_failing_ends_failed_at_its_last_attempt_with_a_reason(kit):
    kit.fail_fast_model("500")
    _, _, job = await kit.http("POST", "/v1/jobs", {"model": "fast", "prompt": "always fails"})
    failed = await kit.wait_final(job["id"])
    assert failed.status.value == "FAILED" and failed.attempts == 2  # MAX_RECEIVE_COUNT
    assert failed.error["code"] == "upstream_server_error" and "after 2 attempts" in failed.error["message"]
    assert [h for h in failed.history if h["event"] == "failed"][0]["dead_lettered"] is True
    stats = await kit.settled()  # the last push answered 200: the task is gone, not exhausted by retries
    assert stats["interactive"]["dispatched"] == 2 and stats["interactive"]["exhausted"] == []
    _, _, polled = await kit.http("GET", f"/v1/jobs/{job['id']}")
    assert polled["status"] == "FAILED" and polled["error"]["code"] == "upstream_server_error"
    assert [m["Status"] for m in kit.metric_lines()] == ["FAILED"]  # the jobs-failed alert's line, once


async def test_a_duplicate_push_completes_the_job_once(kit):
    from tests.contracts.test_store_contract import make_job

    job, _ = await kit.store.create(make_job(tenant="demo-pro"))
    body = {"job_id": job.id, "priority": "interactive"}
    token = kit.token()
    # at least once: one task pushed twice at a time, and a second task for the same job
    outs = await asyncio.gather(kit.push(body, token, task="dup-1"), kit.push(body, token, task="dup-1"),
                                kit.push(body, token, task="dup-2"))
    # the push that loses the claim to its own task's other push answers 503 (Cloud Tasks retries it);
    # another task's push meeting the live claim is a duplicate, dropped with a 200
    assert sorted(status for status, _ in outs) in ([200, 200, 200], [200, 200, 503]), outs
    done = await kit.wait_final(job.id)
    assert done.status.value == "COMPLETE" and done.attempts == 1
    assert [h["event"] for h in done.history].count("completed") == 1
    assert upstream_calls(kit) == 1
    status, _ = await kit.push(body, token, task="dup-3")  # a late duplicate of a final job: acked
    assert status == 200 and upstream_calls(kit) == 1


async def test_a_push_that_is_not_a_job_is_answered_2xx_so_the_queue_drops_it(kit):
    status, out = await kit.push(b"{not json", kit.token())
    assert status == 200 and out["code"] == "not_a_job_message"


async def test_a_push_over_the_task_size_limit_is_refused_with_413_before_its_body_is_read(kit):
    from skyrelay.runtime.platforms.cloud_run.worker import MAX_BODY_BYTES

    status, out = await kit.push(b"x" * (MAX_BODY_BYTES + 1), kit.token())
    assert status == 413 and out["error"]["code"] == "payload_too_large"
    status, out = await kit.push(b"{not json", kit.token())  # the limit, not the route, refused it
    assert status == 200 and out["code"] == "not_a_job_message"


async def test_sigterm_mid_job_releases_it_and_the_retried_push_completes_it(sim):
    """SIGTERM while a slow provider call runs: the worker drains for its grace, then releases the job
    (PENDING, the attempt given back) and the push fails; Cloud Tasks retries it on the new instance."""
    # retries spaced to outlast the restart (Cloud Run would route them to another instance at once)
    kit = GcpKit.start(sim, max_receives=10, min_backoff_s=1.0, max_backoff_s=2.0,
                       worker={"shutdown_grace_s": 1, "backoff_base_s": 0.05})
    try:
        sim.configure(latency_ms=8000)
        _, _, job = await kit.http("POST", "/v1/jobs", {"model": "fast", "prompt": "slow"})
        await kit.wait_final(job["id"], status=("PROCESSING",))
        # uvicorn drains, runs the lifespan's shutdown, then re-raises the signal it caught
        assert kit.kill("worker", signal.SIGTERM) in (0, -signal.SIGTERM)
        released = await kit.store.get(job["id"])
        assert released.status.value == "PENDING" and released.attempts == 0
        sim.configure(latency_ms=0)
        kit.start_role("worker")
        done = await kit.wait_final(job["id"])
        assert done.status.value == "COMPLETE" and done.attempts == 1
    finally:
        sim.configure(latency_ms=0)
        await kit.close()


async def test_scheduler_ticks_sweep_a_lost_job_back_to_work_and_run_the_batcher(kit):
    """A job stored but never enqueued (the API died between the two writes) stays PENDING; Cloud
    Scheduler's POST /sweep (OIDC-checked) re-enqueues it and the push completes it. POST /batch runs
    a batcher tick (this stack deployed no batch bucket: disabled)."""
    import time

    from tests.contracts.test_store_contract import make_job

    job, _ = await kit.store.create(make_job(tenant="demo-pro", created_at=time.time() - 600, ttl=7200))
    status, out = await kit.push(b"", kit.token(), path="/sweep")
    assert status == 200 and out == {"requeued": 1}
    done = await kit.wait_final(job.id)
    assert done.status.value == "COMPLETE" and [h["event"] for h in done.history][:1] == ["requeued"]
    status, out = await kit.push(b"", kit.token(), path="/batch")
    assert status == 200 and out == {"batch": "disabled"}


async def test_a_push_past_its_dispatch_deadline_is_retried_while_it_runs_and_completes_once(sim):
    """The 30-minute-ceiling pitfall at its smallest: a dispatch deadline (15 s, Cloud Tasks' minimum)
    shorter than the provider call (17 s). The peer gives up on the push at the deadline and retries
    the task while the first run goes on; the retry claims the job again (the lease was the deadline)
    and calls the provider a second time. The first run completes the job; the retry's late result is
    discarded. Completion stays once; the provider was called twice."""
    kit = GcpKit.start(sim, max_receives=3, deadline_s=15, router={
        # one slow upstream attempt, no hedge or failover to outrun it: the deadline is what gives way
        "hedge": {"enabled": False}, "timeouts": {"request_s": 60, "attempt_s": 40, "ttft_s": 40, "idle_s": 40}})
    try:
        sim.configure(latency_ms=17000)
        _, _, job = await kit.http("POST", "/v1/jobs", {"model": "fast", "prompt": "longer than the deadline"})
        done = await kit.wait_final(job["id"], timeout_s=90)
        assert done.status.value == "COMPLETE" and done.attempts == 2  # the retry claimed it while it ran
        # the retry's push (17 s again) passes its deadline too; the third finds the job COMPLETE: 200
        stats = (await kit.settled(timeout_s=90))["interactive"]
        assert stats["dispatched"] == 3 and stats["succeeded"] == 1 and stats["exhausted"] == []
        final = await kit.store.get(job["id"])
        assert [h["event"] for h in final.history].count("completed") == 1 and final.result == done.result
        assert upstream_calls(kit) == 2
    finally:
        sim.configure(latency_ms=0)
        await kit.close()


async def test_a_submit_whose_task_cannot_be_created_answers_503_and_fails_the_job(sim):
    """Cloud Tasks refuses the task (here: the queue does not exist): the API answers 503 with
    Retry-After and the job ends FAILED `enqueue_failed`, never PENDING with nothing to deliver it."""
    from skyrelay import deployment as contract
    from tests.contracts.gcp_adapters import LOCATION, PROJECT

    missing = f"projects/{PROJECT}/locations/{LOCATION}/queues/not-deployed"
    kit = GcpKit.start(sim, env={contract.tasks_queue("interactive"): missing})
    try:
        status, headers, body = await kit.http("POST", "/v1/jobs", {"model": "fast", "prompt": "no queue"})
        assert status == 503 and {k.lower() for k in headers} >= {"retry-after"}, body
        (job,) = (await kit.store.list("demo-pro"))[0]
        assert job.status.value == "FAILED" and job.error["code"] == "enqueue_failed"
        assert upstream_calls(kit) == 0
    finally:
        await kit.close()
