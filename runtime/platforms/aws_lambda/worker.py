"""The SQS worker handler: one job per record, partial batch failures.

Lambda deletes the records this returns as successful and leaves the `batchItemFailures` for
redelivery (the event source mapping has ReportBatchItemFailures). Per record:
- done (COMPLETE, FAILED, a duplicate of a final job, explicitly dead-lettered): success;
- retry (the job's attempt failed; the worker set the message's visibility to its backoff): failure;
- crash (the handler raised): failure; on the queue's last delivery (receive count >= maxReceiveCount)
  the job is marked FAILED first, because SQS moves the message to the DLQ next.

The same function runs the sweeper: an EventBridge schedule invokes it with SWEEP_EVENT, and it
calls `Sweeper.sweep_once()` (PENDING jobs untouched for `worker.sweep_grace_s` are re-enqueued).
"""

import logging
import os

from skyrelay.runtime.platforms.aws_lambda import runtime

log = logging.getLogger("skyrelay.lambda.worker")

_state: dict = {}
# What the AsyncJobs sweeper schedule sends (components/aws/async_jobs.py: SWEEP_EVENT).
SWEEP_EVENT = {"skyrelay": "sweep"}


def is_sweep(event) -> bool:
    return isinstance(event, dict) and event.get("skyrelay") == SWEEP_EVENT["skyrelay"] and "Records" not in event


async def sweep(store, queue, cfg) -> dict:
    from skyrelay.runtime.jobs.worker import Sweeper

    name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "lambda") + ":sweeper"
    return {"requeued": await Sweeper(store, queue, cfg, name=name).sweep_once()}


class BatchQueue:
    """The SQS queue as the worker sees it inside one Lambda batch: ack records success (Lambda
    deletes the message), nack changes the visibility and records a failure."""

    def __init__(self, queue):
        self.queue = queue
        self.outcome: dict[str, bool] = {}

    async def ack(self, msg) -> bool:
        self.outcome[msg.id] = True
        return True

    async def nack(self, msg, delay_s: float = 0.0) -> bool:
        self.outcome[msg.id] = False
        return await self.queue.nack(msg, delay_s)

    async def extend(self, msg, visibility_timeout_s: float) -> bool:
        return await self.queue.extend(msg, visibility_timeout_s)

    async def dead_letter(self, msg, reason: str) -> bool:
        ok = await self.queue.dead_letter(msg, reason)
        self.outcome[msg.id] = ok
        return ok

    def __getattr__(self, name):  # enqueue, depth, receive, dead_letters, close
        return getattr(self.queue, name)


async def process_batch(event: dict, store, queue, generate, cfg, max_receive_count: int) -> dict:
    from skyrelay.runtime.jobs.model import OPEN, JobStatus
    from skyrelay.runtime.jobs.worker import Worker
    from skyrelay.runtime.queues.sqs import parse_message

    batch = BatchQueue(queue)
    worker = Worker(store, batch, generate, cfg, name=os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "lambda"))
    failures = []
    for record in event.get("Records", []):
        msg_id = record["messageId"]
        try:
            msg = parse_message(record)
            await worker.handle(msg)
            if not batch.outcome.get(msg.id, False):
                failures.append(msg_id)
        except Exception as exc:
            log.exception("record %s crashed", msg_id)
            failures.append(msg_id)
            count = int(record.get("attributes", {}).get("ApproximateReceiveCount", 1))
            if count >= max_receive_count:
                job_id = _job_id(record)
                if job_id:
                    await store.transition(job_id, OPEN, JobStatus.FAILED, {
                        "error": {"code": "poison_message", "message": f"{type(exc).__name__}: {exc}"[:500]},
                    })
    await worker.sender.close()
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failures]}


def _job_id(record: dict) -> str | None:
    import json

    try:
        return json.loads(record["body"])["job_id"]
    except (ValueError, KeyError, TypeError):
        return None


def make_handler(store, queue, generate, cfg, max_receive_count: int):
    """A Lambda handler over the given adapters (tests inject theirs; `handler` builds from env)."""

    def handle(event, context=None):
        if is_sweep(event):
            return runtime.loop().run_until_complete(sweep(store, queue, cfg))
        return runtime.loop().run_until_complete(
            process_batch(event, store, queue, generate, cfg, max_receive_count)
        )

    return handle


def _build():
    from skyrelay.runtime.jobs.worker import router_generate
    from skyrelay.runtime.platforms.aws_lambda import transport
    from skyrelay.runtime.router.router import Router

    runtime.load_secrets()
    config = runtime.router_config()
    cfg = runtime.jobs_config(config)
    store, queue = runtime.store_and_queue()
    # stdlib transport: one job per invocation, so aiohttp's pool buys nothing and its import is cold-start time
    router = Router(config, call=transport.call, open_stream=transport.open_stream)
    return make_handler(store, queue, router_generate(router), cfg, cfg.queue.max_receives)


def handler(event, context=None):
    if "handler" not in _state:
        _state["handler"] = _build()
    return _state["handler"](event, context)
