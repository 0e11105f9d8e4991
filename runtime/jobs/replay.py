"""Dead-letter replay: move dead-lettered jobs back to work, or count them first (`skyrelay jobs
replay-dlq`). Every cloud keeps its dead letters its own way, so the port is small:

    class DeadLetterSource(Protocol):
        async def peek(limit)  -> list[DeadJob]   # look, change nothing (the dry run)
        async def take(limit)  -> list[DeadJob]   # hold them (a lock, a visibility timeout) while replaying
        async def requeue(dead, priority) -> None # a fresh message for the job, then the dead letter removed
        async def release(dead) -> None           # leave it where it is (a job not to replay)
        async def close() -> None

Implementations: Service Bus (`<queue>/$DeadLetterQueue`: runtime/jobs/replay_servicebus.py), SQS
(the DLQs: runtime/jobs/replay_sqs.py); a cloud whose queue keeps no dead letters (Cloud Tasks) has
its FAILED jobs as the source (take = the FAILED jobs a query finds; requeue = a new task; release =
nothing).

`replay` decides per job, from the store, which is the truth:
- FAILED: reset to PENDING (attempts 0, error and claim cleared, a `replayed` history entry with the
  dead letter's reason), then requeued: a fresh message, the dead letter removed;
- PENDING (a message lost after a crash, say): requeued as it is;
- PROCESSING (a delivery holds it now) or COMPLETE: not replayed; the dead letter stays;
- gone (expired): not replayed; the dead letter stays.
The store is written before the message is sent, and the dead letter removed last: a crash in between
leaves a PENDING job (the sweeper re-enqueues it) or a duplicate message (harmless: the claim is
conditional). Nothing is lost either way.
"""

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from skyrelay.runtime.jobs.model import WEBHOOK_PENDING, JobStatus

SOURCES: dict[str, str] = {  # queue backend -> "module:factory(queue) -> DeadLetterSource"
    "servicebus": "skyrelay.runtime.jobs.replay_servicebus:from_queue",
    "sqs": "skyrelay.runtime.jobs.replay_sqs:from_queue",
}
# Queues that keep no dead letters: the source is the store's FAILED jobs, "module:factory(queue, store)".
STORE_SOURCES: dict[str, str] = {
    "cloudtasks": "skyrelay.runtime.jobs.replay_firestore:from_store",
}


@dataclass
class DeadJob:
    job_id: str
    reason: str
    priority: str | None  # the queue it was dead-lettered from, where the source knows it
    handle: Any = None  # what the source needs to requeue or release it


class DeadLetterSource(Protocol):
    async def peek(self, limit: int) -> list[DeadJob]: ...

    async def take(self, limit: int) -> list[DeadJob]: ...

    async def requeue(self, dead: DeadJob, priority: str) -> None: ...

    async def release(self, dead: DeadJob) -> None: ...

    async def close(self) -> None: ...


@dataclass
class Outcome:
    job_id: str
    reason: str
    action: str  # would_replay, replayed, requeued, skipped_complete, skipped_processing, skipped_missing
    status: str | None = None


@dataclass
class Report:
    dry_run: bool
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.outcomes)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            out[o.action] = out.get(o.action, 0) + 1
        return out


def make_source(queue_backend: str, queue, store=None) -> DeadLetterSource:
    if queue_backend in STORE_SOURCES and store is not None:
        module, _, factory = STORE_SOURCES[queue_backend].partition(":")
        return getattr(importlib.import_module(module), factory)(queue, store)
    try:
        target = SOURCES[queue_backend]
    except KeyError:
        known = sorted({*SOURCES, *STORE_SOURCES})
        raise ValueError(f"no dead-letter replay for queue backend {queue_backend!r}; known: {known}") from None
    module, _, factory = target.partition(":")
    return getattr(importlib.import_module(module), factory)(queue)


async def replay(store, source: DeadLetterSource, *, dry_run: bool = False, limit: int = 100,
                 by: str = "replay-dlq", clock: Callable[[], float] = time.time) -> Report:
    """Replays (or, with `dry_run`, lists) up to `limit` dead-lettered jobs; see the module docstring."""
    report = Report(dry_run)
    if dry_run:
        for dead in await source.peek(limit):
            job = await store.get(dead.job_id)
            report.outcomes.append(Outcome(dead.job_id, dead.reason, "would_replay" if _replayable(job) else _skip(job),
                                           job.status.value if job else None))
        return report
    for dead in await source.take(limit):
        report.outcomes.append(await _one(store, source, dead, by, clock))
    return report


def _replayable(job) -> bool:
    return job is not None and job.status in (JobStatus.FAILED, JobStatus.PENDING)


def _skip(job) -> str:
    if job is None:
        return "skipped_missing"
    return "skipped_complete" if job.status == JobStatus.COMPLETE else "skipped_processing"


async def _one(store, source: DeadLetterSource, dead: DeadJob, by: str, clock) -> Outcome:
    job = await store.get(dead.job_id)
    if not _replayable(job):
        await source.release(dead)
        return Outcome(dead.job_id, dead.reason, _skip(job), job.status.value if job else None)
    action = "requeued"
    if job.status == JobStatus.FAILED:
        now = clock()
        replays = sum(1 for h in job.history if h.get("event") == "replayed") + 1
        updates = {
            "attempts": 0, "error": None, "claim": None, "finished_at": None,
            "history": job.history + [{"at": now, "event": "replayed", "by": by, "reason": dead.reason,
                                       "previous_error": job.error, "previous_attempts": job.attempts}],
        }
        if job.webhook:  # the next final state is a new event: a new webhook id, delivered afresh
            base = job.webhook["id"].split("-r", 1)[0]
            updates["webhook"] = {**job.webhook, "id": f"{base}-r{replays}", "state": WEBHOOK_PENDING, "attempts": []}
        job = await store.transition(job.id, [JobStatus.FAILED], JobStatus.PENDING, updates)
        if job is None:  # it moved meanwhile: leave the dead letter for the next run
            await source.release(dead)
            current = await store.get(dead.job_id)
            return Outcome(dead.job_id, dead.reason, _skip(current), current.status.value if current else None)
        action = "replayed"
    await source.requeue(dead, job.priority)
    return Outcome(dead.job_id, dead.reason, action, job.status.value)
