"""The sweeper: PENDING jobs whose queue message was lost get a new one."""

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable

from skyrelay.runtime.jobs.config import JobsConfig
from skyrelay.runtime.jobs.model import JobStatus

log = logging.getLogger("skyrelay.jobs.sweeper")


class Sweeper:
    """Re-enqueues PENDING jobs that have lost their queue message.

    Submit stores the job, then enqueues its message: a crash between the two (or a message the queue
    dead-lettered while the job waited on its tenant's rate limit) leaves a PENDING job nothing will
    deliver. Every `sweep_interval_s` the sweeper asks the store for PENDING jobs untouched for
    `sweep_grace_s`, touches each (a `requeued` history entry, conditional on it still being PENDING
    at the same attempt) and then enqueues a message for it. A job that was merely waiting in a long queue gets a duplicate message; duplicates are
    harmless (claim is conditional, and a message meeting another message's live claim is dropped),
    and the wait before a job's next re-enqueue doubles each time, so a backlog is not flooded.

    Workers run it in their loop; a platform without a long-lived worker (Lambda) calls `sweep_once`
    on a schedule.
    """

    def __init__(self, store, queue, cfg: JobsConfig, *, clock: Callable[[], float] = time.time,
                 name: str = "sweeper"):
        self.store, self.queue, self.cfg, self.clock, self.name = store, queue, cfg, clock, name
        self.requeued = 0

    async def sweep_once(self) -> int:
        """Returns how many jobs were re-enqueued."""
        stale = getattr(self.store, "stale", None)
        if stale is None:
            raise NotImplementedError(f"{type(self.store).__name__} has no `stale` (JobStore port)")
        w = self.cfg.worker
        now = self.clock()
        n = 0
        for job in await stale(JobStatus.PENDING, now - w.sweep_grace_s, w.sweep_batch):
            requeues = sum(1 for h in job.history if h.get("event") == "requeued")
            if job.updated_at > now - w.sweep_grace_s * 2 ** min(requeues, 10):
                continue
            # Touch first, then enqueue: the `requeued` entry is written before any worker can take
            # the new message, and a job claimed or changed meanwhile (it had a delivery after all)
            # is not enqueued twice. Dying between the two leaves it PENDING: the next sweep retries.
            touched = await self.store.transition(job.id, [JobStatus.PENDING], None, {
                "history": job.history + [{"at": now, "event": "requeued", "by": self.name}]},
                expect_attempts=job.attempts)
            if touched is None:
                continue
            await self.queue.enqueue(job.id, job.priority)
            log.warning("%s: %s was PENDING without a delivery for %.0fs; re-enqueued",
                        self.name, job.id, now - job.updated_at)
            n += 1
        self.requeued += n
        return n

    async def run(self, stopping: asyncio.Event) -> None:
        interval = self.cfg.worker.sweep_interval_s
        rng = random.Random()
        while not stopping.is_set():
            try:
                await self.sweep_once()
            except NotImplementedError as exc:
                log.warning("%s: sweeper disabled: %s", self.name, exc)
                return
            except Exception:
                log.exception("%s: sweep failed", self.name)
            with contextlib.suppress(TimeoutError):  # jittered, so several workers do not sweep in step
                await asyncio.wait_for(stopping.wait(), interval * rng.uniform(0.8, 1.2))
