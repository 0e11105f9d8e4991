"""1,000 jobs through the Azure Functions worker over the Cosmos DB and Service Bus peers, the worker
process SIGKILLed at progress points (not times) and restarted, five times or more.

Every job must end COMPLETE or FAILED (none lost), no job may complete twice, and every upstream call
must be explained by a claimed attempt (calls <= attempts). The poison job ends FAILED after the
configured attempts with its message in the dead-letter queue. (tests/jobs/test_durability.py is the
local version.)
"""

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skyrelay import deployment as contract
from skyrelay.runtime.jobs.model import Job, JobStatus, new_job_id
from tests import peers
from tests.contracts.azure_adapters import cosmos_on, fresh_container, servicebus_producer, servicebus_queues
from tests.durability import assert_nothing_lost, run_with_kills

N_JOBS = 1000
MAX_ATTEMPTS = 5
MIN_KILLS = 5
ROOT = Path(__file__).resolve().parents[2]


async def seed(container: str, queues: dict) -> list[str]:
    store, producer = cosmos_on(container), servicebus_producer(queues, 50)
    ids, now = [], time.time()
    try:
        for i in range(N_JOBS + 1):
            prompt = "poison" if i == N_JOBS // 2 else f"p{i}"
            job = Job(id=new_job_id(), tenant="t", status=JobStatus.PENDING,
                      request={"model": "fast", "messages": [{"role": "user", "content": prompt}]},
                      model="fast", created_at=now, updated_at=now, expires_at=now + 3600,
                      priority="batch" if i % 2 else "interactive")
            await store.create(job)
            await producer.enqueue(job.id, job.priority)
            ids.append(job.id)
    finally:
        await store.close()
        await producer.close()
    return ids


async def all_jobs(container: str) -> list[Job]:
    store = cosmos_on(container)
    try:
        docs = await store.container.query("SELECT * FROM c WHERE c.type = 'job'", {}, order=lambda d: d["id"],
                                           limit=10**6)
        return [store._job(d) for d in docs]
    finally:
        await store.close()


async def open_jobs(container: str) -> int:
    store = cosmos_on(container)
    try:
        counts = await store.container.query("SELECT VALUE COUNT(1) FROM c WHERE c.type = 'job' AND "
                                             "(c.status = 'PENDING' OR c.status = 'PROCESSING')", {},
                                             order=int, limit=10**6)
        return sum(counts)  # one count per partition key range
    finally:
        await store.close()


def open_messages(queues: dict) -> int:
    bus = peers.servicebus()
    return sum(c["active"] + c["scheduled"] + c["locked"] for c in (bus.counts(q) for q in queues.values()))


def start(container: str, queues: dict, log: Path) -> subprocess.Popen:
    env = {**os.environ, contract.COSMOS_ENDPOINT: peers.cosmos(), contract.COSMOS_EMULATOR_KEY: peers.COSMOS_EMULATOR_KEY,
           contract.SERVICEBUS_EMULATOR_CONNECTION: peers.servicebus().connection_string}
    p = subprocess.Popen([sys.executable, "-m", "tests.azure_runtime.durability_worker", container, queues["interactive"],
                          queues["batch"], str(log), str(MAX_ATTEMPTS)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=str(ROOT))
    assert p.stdout.readline().strip() == "ready"
    return p


# The run's own deadline (run_with_kills, 600 s) comes first, so a stall ends in the test's assertions,
# not in pytest-timeout's thread dump.
@pytest.mark.timeout(700)
def test_sigkilled_functions_worker_loses_nothing_and_completes_once(tmp_path):
    queues = servicebus_queues(max_receives=50, lock_duration_s=3)
    container = asyncio.run(fresh_container())
    ids = asyncio.run(seed(container, queues))
    log = tmp_path / "calls.log"
    kills = run_with_kills(lambda: start(container, queues, log),
                           lambda: asyncio.run(open_jobs(container)) + open_messages(queues),
                           N_JOBS, MIN_KILLS, 600, 0.2)

    jobs = {j.id: j for j in asyncio.run(all_jobs(container))}
    producer = servicebus_producer(queues, 50)

    async def dead():
        try:
            return await producer.dead_letters()
        finally:
            await producer.close()

    dead_letters = asyncio.run(dead())
    assert kills >= MIN_KILLS, "the jobs finished before the worker was killed enough times"
    assert open_messages(queues) == 0
    figures = assert_nothing_lost(jobs, ids, log.read_text(), MAX_ATTEMPTS)
    # the poison job's message dead-lettered with the reason
    assert (figures["poison"].id, "upstream_server_error") in {(d.job_id, d.reason) for d in dead_letters}
    print(f"\nkills={kills} calls={figures['calls']} completed={figures['completed']} "
          f"max_attempts_failures={figures['max_attempts_failures']}")
