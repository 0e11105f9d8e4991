"""The GCP deployment contract as the runtime reads it (the environment AsyncJobs writes -> store,
queue, shared limiter, claim lease, attempts), the dispatch-deadline rule, the Firestore documents'
TTL timestamp, an expired idempotency key taken over atomically, and the OIDC verifier's cache."""

import datetime as dt
import json
import time

import pytest

from skyrelay import deployment as contract
from tests.contracts.gcp_adapters import firestore_on, fresh_collection
from tests.contracts.test_store_contract import make_job

PROJECT_QUEUE = "projects/p1/locations/europe-west1/queues/jobs-{}"


def gcp_env(**extra) -> dict:
    from tests.routerkit import config_dict

    return {contract.CONFIG_JSON: json.dumps(config_dict()), contract.GCP_PROJECT: "p1",
            contract.FIRESTORE_DATABASE: "(default)", contract.FIRESTORE_COLLECTION: "jobs",
            contract.WORKER_URL: "https://worker-abc.a.run.app/tasks",
            contract.OIDC_AUDIENCE: "https://worker-abc.a.run.app/tasks",
            contract.TASKS_SERVICE_ACCOUNT: "tasks@p1.iam.gserviceaccount.com",
            contract.DISPATCH_DEADLINE_SECONDS: "630", contract.MAX_RECEIVE_COUNT: "7",
            **{contract.tasks_queue(p): PROJECT_QUEUE.format(p) for p in contract.PRIORITIES}, **extra}


def test_the_gcp_deployment_reads_the_environment():
    from skyrelay.runtime.platforms import bootstrap
    from skyrelay.runtime.platforms.cloud_run.runtime import GCP

    env = gcp_env()
    config = bootstrap.router_config(env, deployment=GCP)
    assert (config.limiter.backend, config.limiter.firestore_project, config.limiter.firestore_collection) == (
        "firestore", "p1", "jobs")
    jobs = bootstrap.jobs_config(config, env, GCP)
    assert jobs.store.backend == "firestore" and jobs.store.options == {"project": "p1", "collection": "jobs",
                                                                         "database": "(default)"}
    q = jobs.queue
    assert q.backend == "cloudtasks" and q.options["interactive_queue"] == PROJECT_QUEUE.format("interactive")
    assert q.options["service_account"] == "tasks@p1.iam.gserviceaccount.com"
    assert q.visibility_timeout_s == 630  # the worker's claim lasts as long as Cloud Tasks waits for the answer
    assert q.max_receives == jobs.worker.max_attempts == 7  # the last push is the last attempt
    store, queue = bootstrap.store_and_queue(jobs)
    assert type(store).__name__ == "FirestoreJobStore" and store.collection_name == "jobs"
    assert queue.dispatch_deadline_s == 630 and queue.audience == env[contract.OIDC_AUDIENCE]
    assert GCP.load_secrets is None  # Cloud Run resolves the Secret Manager references itself


def test_a_missing_variable_names_its_key():
    from skyrelay.runtime.platforms import bootstrap
    from skyrelay.runtime.platforms.cloud_run.runtime import GCP

    env = gcp_env()
    del env[contract.TASKS_SERVICE_ACCOUNT]
    jobs = bootstrap.jobs_config(bootstrap.router_config(env, deployment=GCP), env, GCP)
    with pytest.raises(ValueError, match="jobs.queue.options.service_account"):
        bootstrap.store_and_queue(jobs)


def test_a_deadline_past_the_30_minute_ceiling_is_refused_at_start_naming_its_variable():
    from skyrelay.runtime.platforms import bootstrap
    from skyrelay.runtime.platforms.cloud_run.runtime import GCP

    env = gcp_env(**{contract.DISPATCH_DEADLINE_SECONDS: "2400"})
    jobs = bootstrap.jobs_config(bootstrap.router_config(env, deployment=GCP), env, GCP)
    with pytest.raises(ValueError, match=contract.DISPATCH_DEADLINE_SECONDS):
        bootstrap.store_and_queue(jobs)


def test_the_dispatch_deadline_covers_the_worker_timeout_within_30_minutes():
    assert contract.dispatch_deadline(600) == 630
    assert contract.dispatch_deadline(1) == contract.CLOUD_TASKS_MIN_DEADLINE_S + 16
    assert contract.dispatch_deadline(1770) == contract.CLOUD_TASKS_MAX_DEADLINE_S
    with pytest.raises(ValueError, match="30 minutes"):
        contract.dispatch_deadline(1771)


def test_task_names_de_duplicate_immediate_messages_only():
    from skyrelay.runtime.queues.cloudtasks import task_id

    now = 1_800_000_000.4
    assert task_id("job_a", now) == task_id("job_a", now + 0.5)  # the same second: one task
    assert task_id("job_a", now) != task_id("job_a", now + 1) != task_id("job_b", now + 1)
    assert task_id("job_a", now, delayed=True) != task_id("job_a", now, delayed=True)  # never swallowed
    assert not task_id("job_a", now).startswith("job_")  # a hash leads: names do not sort by time


@pytest.mark.anyio
async def test_documents_carry_the_ttl_field_as_a_timestamp_and_bytes_body():
    store = firestore_on(fresh_collection())
    try:
        job, _ = await store.create(make_job(key="k1", metadata={"nested": [[1, 2], [3]]}))  # arrays of arrays
        from skyrelay.runtime.stores.firestore import idem_id
        from tests.contracts.gcp_adapters import sdk_collection

        async with sdk_collection(store.collection_name) as sdk:  # as the TTL policy and the SDK see them
            raw = (await sdk.document(job.id).get()).to_dict()
            key = (await sdk.document(idem_id("acme", "k1")).get()).to_dict()
        assert isinstance(raw[contract.FIRESTORE_TTL_FIELD], dt.datetime)
        assert abs(raw[contract.FIRESTORE_TTL_FIELD].timestamp() - job.expires_at) < 0.001
        assert isinstance(raw["body"], bytes) and (await store.get(job.id)) == job
        assert key["job_id"] == job.id and isinstance(key[contract.FIRESTORE_TTL_FIELD], dt.datetime)
    finally:
        await store.close()


@pytest.mark.anyio
async def test_an_expired_key_is_taken_over_once_by_concurrent_creators():
    import asyncio

    store = firestore_on(fresh_collection())
    try:
        old, _ = await store.create(make_job(key="k", ttl=0.3))
        await asyncio.sleep(0.5)
        results = await asyncio.gather(*(store.create(make_job(key="k")) for _ in range(6)))
        assert sum(created for _, created in results) == 1
        (winner,) = {job.id for job, _ in results}
        assert winner != old.id and (await store.find_idempotent("acme", "k")).id == winner
    finally:
        await store.close()


@pytest.mark.anyio
async def test_the_push_verifier_fetches_the_keys_once():
    from skyrelay.runtime.clouds.gcp.oidc import PushVerifier, Refused
    from tests import peers
    from tests.contracts.gcp_adapters import TASKS_SA

    tasks = peers.cloudtasks()
    aud = "https://worker.example/tasks"
    v = PushVerifier(aud, TASKS_SA, tasks.certs_url)
    fetched = []
    real = v._fetch
    v._fetch = lambda: fetched.append(1) or real()
    for _ in range(3):
        assert (await v.verify(f"Bearer {tasks.token(aud, TASKS_SA)}"))["email"] == TASKS_SA
    assert len(fetched) == 1
    with pytest.raises(Refused) as no:
        await v.verify(f"Bearer {tasks.token(aud, 'other@p.iam.gserviceaccount.com')}")
    assert no.value.status == 403
    with pytest.raises(Refused) as no:
        await v.verify("Basic abc")
    assert no.value.status == 401
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"iss": "https://accounts.google.com", "aud": aud, "email": TASKS_SA, "email_verified": True,
                         "iat": int(time.time()), "exp": int(time.time()) + 600}, other, algorithm="RS256",
                        headers={"kid": "rotated-or-forged"})
    for _ in range(3):  # an unknown kid: 401, and no key fetch per forged token
        with pytest.raises(Refused) as no:
            await v.verify(f"Bearer {forged}")
        assert no.value.status == 401
    assert len(fetched) == 1


@pytest.mark.anyio
async def test_the_producer_creates_oidc_tasks_with_the_deadline_and_schedule_time():
    """What the real client sends, read back through GetTask on the peer: the OIDC token's identity and
    audience, the dispatch deadline, a delayed schedule time; a second immediate enqueue of the same
    job in the same second is the same task (de-duplicated), a delayed one a new task."""
    import time as clock

    from tests import peers
    from tests.contracts.gcp_adapters import TASKS_SA, tasks_producer, tasks_queues

    queues = tasks_queues(max_receives=3)
    url = f"http://127.0.0.1:{peers.free_port()}/tasks"  # nothing listens: the task waits, retried
    producer = tasks_producer(queues, url, 3, audience="https://worker.example/tasks", dispatch_deadline_s=630)
    now = clock.time()
    later = await producer.enqueue("job_x", "batch", delay_s=120)
    task = peers.cloudtasks().client().get_task(name=f"{queues['batch']}/tasks/{later}")
    assert task.dispatch_deadline.total_seconds() == 630
    assert task.http_request.oidc_token.service_account_email == TASKS_SA
    assert task.http_request.oidc_token.audience == "https://worker.example/tasks"
    assert task.http_request.url == url
    assert 115 < task.schedule_time.timestamp() - now < 125
    fixed = tasks_producer(queues, url, 3, clock=lambda: now)  # two enqueues within one second
    first = await fixed.enqueue("job_y", "batch")
    assert await fixed.enqueue("job_y", "batch") == first  # ALREADY_EXISTS on the peer: one task
    assert peers.cloudtasks().client().get_task(name=f"{queues['batch']}/tasks/{first}").name.endswith(first)
    assert later != await producer.enqueue("job_x", "batch", delay_s=120)
    with pytest.raises(ValueError):
        await producer.enqueue("job_z", "urgent")


def test_the_server_falls_back_to_h11_where_the_image_lacks_uvicorn_standard(monkeypatch):
    """The Cloud Run image installs what components/gcp/packaging.py lists; without uvloop/httptools
    the service still starts (asyncio + h11, the same header limit and drain)."""
    import importlib.util

    from skyrelay.runtime.platforms.cloud_run.__main__ import server_config

    fast = server_config(object(), "127.0.0.1", 8080, grace_s=30)
    assert (fast.loop, fast.timeout_graceful_shutdown) == ("uvloop", 8)  # Cloud Run kills at 10 s
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "httptools" else real(name, *a))
    plain = server_config(object(), "127.0.0.1", 8080, grace_s=2)
    assert (plain.loop, plain.http, plain.timeout_graceful_shutdown) == ("asyncio", "h11", 2)
    assert plain.h11_max_incomplete_event_size == 65536
