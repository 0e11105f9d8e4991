"""Dead-letter replay on GCP (runtime/jobs/replay.py's source): Cloud Tasks keeps no dead letters (a
task is deleted once answered, or after its last attempt), so the worker marks the job FAILED with
its reason before it lets a task go, and the dead letters are those FAILED jobs in Firestore:
- a job the worker gave up on after its attempts (its last `failed` history entry says
  `dead_lettered`), or whose handler crashed on the queue's last attempt (`poison_message`);
- not a job that failed for good on its first answer (a 4xx from the provider, a cancel): replaying
  it would fail the same way, and no queue would have kept its message either.

The dry run and a replay read the same query (FirestoreJobStore.failed: type=job, status=FAILED,
oldest update first; looking at 4 x limit FAILED jobs for `limit` dead letters). Nothing needs holding
while the replay decides: the reset is a conditional FAILED -> PENDING transition, so two replays at
once reset a job once (the later one finds it PENDING and at most sends a second task, which is
harmless: the claim is conditional). `requeue` is a fresh Cloud Tasks task; `release` does nothing.
"""

from skyrelay.runtime.jobs.model import Job
from skyrelay.runtime.jobs.replay import DeadJob


def dead_lettered(job: Job) -> bool:
    if (job.error or {}).get("code") == "poison_message":
        return True
    failed = [h for h in job.history if h.get("event") == "failed"]
    return bool(failed) and bool(failed[-1].get("dead_lettered"))


class FirestoreDeadLetters:
    def __init__(self, queue, store):
        if not hasattr(store, "failed"):
            raise ValueError(f"dead-letter replay over FAILED jobs needs the firestore store, not {type(store).__name__}")
        self.queue, self.store = queue, store

    async def peek(self, limit: int) -> list[DeadJob]:
        jobs = [j for j in await self.store.failed(max(limit, 1) * 4) if dead_lettered(j)]
        return [DeadJob(j.id, (j.error or {}).get("code") or "failed", j.priority, j) for j in jobs[:limit]]

    async def take(self, limit: int) -> list[DeadJob]:
        return await self.peek(limit)

    async def requeue(self, dead: DeadJob, priority: str) -> None:
        await self.queue.enqueue(dead.job_id, priority)

    async def release(self, dead: DeadJob) -> None:
        return None

    async def close(self) -> None:
        return None


def from_store(queue, store) -> FirestoreDeadLetters:
    return FirestoreDeadLetters(queue, store)
