"""1,000 jobs through a worker process that is SIGKILLed at random moments and restarted.

Every job must end COMPLETE or FAILED (none lost), no job may complete twice, and every upstream call
must be explained by a claimed attempt: for each job, calls <= attempts (a crash after a call and
before the completion write is a retry the job's attempt count records).
"""

import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from skyrelay.runtime.jobs.model import Job, JobStatus, new_job_id
from skyrelay.runtime.queues.sqlite import SqliteJobQueue
from skyrelay.runtime.stores.sqlite import SqliteJobStore
from tests.durability import assert_nothing_lost, run_with_kills

N_JOBS = 1000
MAX_ATTEMPTS = 5
MIN_KILLS = 5
ROOT = Path(__file__).resolve().parents[2]


async def seed(db: Path) -> list[str]:
    store, queue = SqliteJobStore(db), SqliteJobQueue(db, max_receives=50)
    ids = []
    now = time.time()
    for i in range(N_JOBS + 1):
        prompt = "poison" if i == N_JOBS // 2 else f"p{i}"
        job = Job(id=new_job_id(), tenant="t", status=JobStatus.PENDING,
                  request={"model": "fast", "messages": [{"role": "user", "content": prompt}]},
                  model="fast", created_at=now, updated_at=now, expires_at=now + 3600)
        await store.create(job)
        await queue.enqueue(job.id, "batch" if i % 2 else "interactive")
        ids.append(job.id)
    await store.close()
    await queue.close()
    return ids


def start(db: Path, log: Path) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-m", "tests.jobs.durability_worker", str(db), str(log), str(MAX_ATTEMPTS)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=str(ROOT))
    assert p.stdout.readline().strip() == "ready"
    return p


def open_count(db: Path) -> int:
    """Jobs not yet final, plus queue messages not yet acked: the worker has finished when both are 0
    (a job is final a moment before its message is acked). Counts, polled often while it runs."""
    with sqlite3.connect(db) as conn:
        jobs = conn.execute("SELECT count(*) FROM jobs WHERE status IN ('PENDING', 'PROCESSING')").fetchone()[0]
        return jobs + conn.execute("SELECT count(*) FROM queue").fetchone()[0]


def test_sigkilled_worker_loses_nothing_and_completes_once(tmp_path):
    db, log = tmp_path / "jobs.db", tmp_path / "calls.log"
    ids = asyncio.run(seed(db))
    watcher = SqliteJobStore(db)
    kills = run_with_kills(lambda: start(db, log), lambda: open_count(db), N_JOBS, MIN_KILLS, 120, 0.01)
    jobs = {j.id: j for j in watcher.all_jobs_sync()}
    queue = SqliteJobQueue(db)

    async def queue_state():
        try:
            return await queue.dead_letters(), await queue.depth()
        finally:
            await queue.close()
            await watcher.close()

    dead, depth = asyncio.run(queue_state())

    assert kills >= MIN_KILLS, "the jobs finished before the worker was killed enough times"
    assert depth == 0
    figures = assert_nothing_lost(jobs, ids, log.read_text(), MAX_ATTEMPTS)
    calls = figures["by_calls"]
    retried = sum(calls.values()) - sum(1 for j in jobs.values() if j.status == JobStatus.COMPLETE)
    explained = sum(j.attempts - 1 for j in jobs.values() if j.status == JobStatus.COMPLETE) + \
        sum(j.attempts for j in jobs.values() if j.status == JobStatus.FAILED)
    assert retried <= explained
    assert figures["poison"].id in {d.job_id for d in dead}  # dead-lettered
    print(f"\nkills={kills} calls={figures['calls']} completed={figures['completed']} "
          f"retried_calls={retried} max_attempts_failures={figures['max_attempts_failures']}")
