"""Push delivery: the one algorithm every platform that is handed messages shares (Lambda's SQS
batches, a Service Bus trigger, a Cloud Tasks push). Deliveries in, each settled, outcomes out.

    await deliver(worker, deliveries)     # then read each delivery's settlement

For each delivery the worker runs the job and settles it (runtime/jobs/worker.py: ack, retry after a
backoff, dead-letter with FAILED on the last attempt). A handler that raises leaves its delivery
unsettled, so the platform redelivers it. On the queue's last delivery (`delivery.last`) that would
lose the job: the queue dead-letters (SQS, Service Bus) or drops (Cloud Tasks) the message next, so
the job is marked FAILED first, with the reason `poison_message`. One delivery's crash never stops
the others of its batch.
"""

import logging

from skyrelay.runtime.jobs.model import OPEN, JobStatus
from skyrelay.runtime.queues.base import Delivery

log = logging.getLogger("skyrelay.jobs.delivery")


async def deliver(worker, deliveries: list[Delivery]) -> list[BaseException | None]:
    """Handles each delivery in turn; returns, per delivery, the exception its handler raised."""
    crashes: list[BaseException | None] = []
    for d in deliveries:
        try:
            await worker.handle(d)
            crashes.append(None)
        except Exception as exc:
            log.exception("delivery %s of job %s crashed (receive %d)", d.id, d.job_id, d.receive_count)
            crashes.append(exc)
            if d.last:
                await fail_poison(worker.store, d.job_id, exc)
    return crashes


async def fail_poison(store, job_id: str, exc: BaseException) -> None:
    """The job of a message the queue is about to give up on ends FAILED, with the crash as reason."""
    await store.transition(job_id, OPEN, JobStatus.FAILED, {
        "error": {"code": "poison_message", "message": f"{type(exc).__name__}: {exc}"[:500]}, "claim": None,
    })
