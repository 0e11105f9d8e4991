"""On-demand fallback: a line that no provider batch will answer (its model has no batch deployment,
its chunk stayed below the provider's minimum past `max_wait_s`, or its provider job failed, expired
or passed the deadline) runs as an ordinary job through the queue, the worker and the router, at the
on-demand price, with the worker's retries and webhooks.

- a single job goes back to PENDING (no longer held) and gets a queue message;
- a batch line becomes a job of its own, id `job_<batch>_<line>` (create-if-absent: a second run
  makes no second job), owned by the batch (`batch.batch_id`); the batch's finalizer collects it.
"""

import logging

from skyrelay.runtime.jobs.model import FINAL, Job, JobStatus

log = logging.getLogger("skyrelay.batch.fallback")


def line_job_id(batch_id: str, n: int) -> str:
    return f"job_{batch_id.removeprefix('batch_')}_{n}"


class Fallback:
    def __init__(self, b, reason: str):
        self.b, self.reason = b, reason
        self.count = 0

    async def line(self, owner: Job, line: dict, group: str | None = None) -> dict | None:
        """Sends one chunk line on demand; for a batch line, returns its part entry."""
        now = self.b.clock()
        if not owner.id.startswith("batch_"):
            if owner.status in FINAL:
                return None
            back = await self.b.store.transition(owner.id, [JobStatus.PROCESSING], JobStatus.PENDING, {
                "claim": None, "batch": {**(owner.batch or {}), "state": "on_demand", "reason": self.reason},
                "history": owner.history + [{"at": now, "event": "batch_fallback", "reason": self.reason}]})
            if back is not None:
                await self.b.queue.enqueue(owner.id, "batch")
                self.count += 1
            return None
        job_id = line_job_id(owner.id, line["n"])
        job = Job(id=job_id, tenant=line["t"], status=JobStatus.PENDING, request=line["r"], model=line["r"]["model"],
                  created_at=now, updated_at=now, expires_at=owner.expires_at, priority="batch",
                  batch={"state": "on_demand", "batch_id": owner.id, "custom_id": line["c"], "n": line["n"],
                         "reason": self.reason, **({"group": group} if group else {})})
        _, created = await self.b.store.create(job)
        if created:
            await self.b.queue.enqueue(job_id, "batch")
            self.count += 1
        return {"kind": "fallback", "n": line["n"], "custom_id": line["c"], "job": job_id, "reason": self.reason}
