"""1,000 jobs through the Cloud Run worker over the Firestore and Cloud Tasks peers, the worker process
SIGKILLed at progress points (not times) and restarted on its port, five times or more.

Every job must end COMPLETE or FAILED (none lost), no job may complete twice, and every upstream call
must be explained by a claimed attempt (calls <= attempts). The poison job ends FAILED after the
configured attempts, with its reason (Cloud Tasks keeps no dead letter: the FAILED job is what
remains). (tests/azure_runtime/test_durability.py is the Azure version.)
"""

import asyncio
import collections
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skyrelay import deployment as contract
from skyrelay.runtime.jobs.model import Job, JobStatus, new_job_id
from tests import peers
from tests.contracts.gcp_adapters import (
    TASKS_SA,
    firestore_on,
    fresh_collection,
    sdk_collection,
    tasks_producer,
    tasks_queues,
)
from tests.durability import run_with_kills
from tests.gcp_runtime.kit import wait_http

N_JOBS = 1000
MAX_ATTEMPTS = 5
MIN_KILLS = 5
ROOT = Path(__file__).resolve().parents[2]


async def seed(collection: str, producer) -> list[str]:
    """The jobs created first, then their tasks enqueued due together after the enqueueing ends (a
    delay of 1.5x the create phase's time): a worker that keeps up with the seeding would otherwise
    finish the jobs as they arrive, before the progress-based kills (tests/durability.py) come."""
    store = firestore_on(collection)
    now = time.time()
    sem = asyncio.Semaphore(16)
    jobs = [Job(id=new_job_id(), tenant="t", status=JobStatus.PENDING,
                request={"model": "fast", "messages": [{"role": "user", "content": "poison" if i == N_JOBS // 2 else f"p{i}"}]},
                model="fast", created_at=now, updated_at=now, expires_at=now + 3600,
                priority="batch" if i % 2 else "interactive") for i in range(N_JOBS + 1)]

    async def create(job: Job) -> None:
        async with sem:
            assert (await store.create(job))[1]

    async def enqueue(job: Job, release: float) -> None:
        async with sem:
            await producer.enqueue(job.id, job.priority, delay_s=max(0.0, release - time.time()))

    try:
        started = time.time()
        await asyncio.gather(*(create(j) for j in jobs))
        release = time.time() + max(2.0, 1.5 * (time.time() - started))
        await asyncio.gather(*(enqueue(j, release) for j in jobs))
    finally:
        await store.close()
    return [j.id for j in jobs]


async def all_jobs(collection: str) -> list[Job]:
    from google.cloud.firestore import FieldFilter

    from skyrelay.runtime.stores.firestore import job_of

    async with sdk_collection(collection) as sdk:
        q = sdk.where(filter=FieldFilter("type", "==", "job"))
        return [job_of(d.to_dict()) async for d in q.stream()]


async def open_jobs(collection: str) -> int:
    from google.cloud.firestore import FieldFilter

    async with sdk_collection(collection) as sdk:
        q = sdk.where(filter=FieldFilter("status", "in", ["PENDING", "PROCESSING"])).count()
        (result,), = await q.get()
        return int(result.value)


def open_tasks(queues: dict) -> int:
    tasks = peers.cloudtasks()
    return sum(s["tasks"] for s in (tasks.stats(q) for q in queues.values()))


def start(collection: str, queues: dict, log: Path, port: int, env: dict) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-m", "tests.gcp_runtime.durability_worker", collection,
                          queues["interactive"], queues["batch"], str(log), str(MAX_ATTEMPTS), str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **env}, cwd=str(ROOT))
    wait_http(f"http://127.0.0.1:{port}/healthz", p)
    return p


# The run's own deadline (run_with_kills, 900 s) comes first, so a stall ends in the assertions below,
# which name the jobs left open, not in pytest-timeout's thread dump. (Alone: ~50 s.)
@pytest.mark.timeout(1000)
def test_sigkilled_cloud_run_worker_loses_nothing_and_completes_once(tmp_path):
    tasks = peers.cloudtasks()
    port = peers.free_port()
    url = f"http://127.0.0.1:{port}/tasks"
    env = {contract.WORKER_URL: url, contract.OIDC_AUDIENCE: url, contract.TASKS_SERVICE_ACCOUNT: TASKS_SA,
           contract.DISPATCH_DEADLINE_SECONDS: "30", contract.TASKS_ENDPOINT: tasks.endpoint,
           contract.OIDC_CERTS_URL: tasks.certs_url, "FIRESTORE_EMULATOR_HOST": peers.firestore()}
    # retries outlast a restart (~2 s): 0.1 s doubling to 1 s, 50 attempts
    queues = tasks_queues(max_receives=50, min_backoff_s=0.1, max_backoff_s=1.0, max_doublings=4, max_concurrent=16)
    collection = fresh_collection()
    producer = tasks_producer(queues, url, 50, dispatch_deadline_s=30)
    log = tmp_path / "calls.log"
    proc = start(collection, queues, log, port, env)
    ids = asyncio.run(seed(collection, producer))
    kills = run_with_kills(lambda: start(collection, queues, log, port, env),
                           lambda: asyncio.run(open_jobs(collection)) + open_tasks(queues),
                           N_JOBS, MIN_KILLS, 900, 0.3, proc=proc)

    jobs = {j.id: j for j in asyncio.run(all_jobs(collection))}
    stats = {p: tasks.stats(q) for p, q in queues.items()}
    assert kills >= MIN_KILLS, "the jobs finished before the worker was killed enough times"
    # lost: 0 (and no task given up by the queue: every one was answered)
    assert set(jobs) == set(ids)
    still_open = [(j.id, j.status.value, j.attempts, j.claim) for j in jobs.values()
                  if j.status not in (JobStatus.COMPLETE, JobStatus.FAILED)]
    assert not still_open, (len(still_open), still_open[:5], stats)
    assert open_tasks(queues) == 0 and all(s["exhausted"] == [] for s in stats.values()), stats
    # completed twice: 0, and every upstream call is explained by an attempt
    calls = collections.Counter(line.split(" ", 1)[1] for line in log.read_text().splitlines())
    by_prompt = {j.request["messages"][0]["content"]: j for j in jobs.values()}
    for prompt, job in by_prompt.items():
        assert calls[prompt] <= job.attempts, (prompt, calls[prompt], job.attempts)
        if job.status == JobStatus.COMPLETE:
            assert calls[prompt] >= 1
            assert [h["event"] for h in job.history].count("completed") == 1
            assert job.result["text"] == f"done {prompt}"
    # the poison job: FAILED after the configured attempts, with the reason (no DLQ to look in)
    poison = by_prompt["poison"]
    assert poison.status == JobStatus.FAILED and poison.attempts == MAX_ATTEMPTS
    assert poison.error["code"] == "upstream_server_error"
    others_failed = [j for j in jobs.values() if j.status == JobStatus.FAILED and j.id != poison.id]
    assert all(j.error["code"] == "max_attempts" for j in others_failed)
    print(f"\nkills={kills} calls={sum(calls.values())} completed={len(jobs) - 1 - len(others_failed)} "
          f"max_attempts_failures={len(others_failed)} dispatched={sum(s['dispatched'] for s in stats.values())}")
