"""The SQS worker handler: a thin mapping from Lambda's SQS event onto the shared push delivery
(runtime/jobs/delivery.py), answered as partial batch failures.

Lambda deletes the records this reports as done and leaves the `batchItemFailures` for redelivery
(the event source mapping has ReportBatchItemFailures). A record is done when the worker acked it
(COMPLETE, FAILED, a duplicate of a final job) or dead-lettered it; a retry (the worker set the
message's visibility to its backoff), a crash or an unreadable record is a failure.

The same function runs the sweeper: an EventBridge schedule invokes it with deployment.SWEEP_EVENT,
and it calls `Sweeper.sweep_once()` (PENDING jobs untouched for `worker.sweep_grace_s` are re-enqueued);
and the batcher: a second schedule sends deployment.BATCH_EVENT and it runs one `Batcher.tick()`
(runtime/batch/batcher.py), reporting lines by mode as CloudWatch EMF (`Jobs` by `Mode`); and the
model keep-alive: deployment.keepalive_event pings the listed deployments (runtime/router/keepalive.py).
"""

import logging
import os

from skyrelay.deployment import is_batch_tick, is_keepalive, is_sweep
from skyrelay.runtime.platforms.aws_lambda import runtime

log = logging.getLogger("skyrelay.lambda.worker")

_state: dict = {}


def _name() -> str:
    return os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "lambda")


async def sweep(store, queue, cfg) -> dict:
    from skyrelay.runtime.jobs.sweeper import Sweeper

    return {"requeued": await Sweeper(store, queue, cfg, name=_name() + ":sweeper").sweep_once()}


async def batch_tick(store, queue, cfg, config) -> dict:
    from skyrelay.runtime.batch.observe import EmfObserve
    from skyrelay.runtime.batch.wiring import run_tick

    return await run_tick(store, queue, cfg, config, EmfObserve(), _name() + ":batcher")


def _emit_on_demand(worker) -> None:
    """Jobs this invocation completed on demand, for the dashboard's batch vs on-demand split."""
    if worker.processed:
        from skyrelay.runtime.batch.observe import emf

        print(emf({"Jobs": worker.processed}, {"Mode": "on_demand"}))


async def process_batch(event: dict, store, queue, generate, cfg) -> dict:
    from skyrelay.runtime.jobs.delivery import deliver
    from skyrelay.runtime.jobs.worker import Worker
    from skyrelay.runtime.queues.sqs import EventSourceDelivery

    worker = Worker(store, queue, generate, cfg, name=_name(), sweep=False)
    failures, deliveries = [], []
    for record in event.get("Records", []):
        try:
            deliveries.append(EventSourceDelivery(queue, record))
        except (KeyError, TypeError, ValueError):  # not a job message: SQS dead-letters it in time
            log.exception("record %s is not a job message", record.get("messageId"))
            failures.append(record.get("messageId"))
    try:
        await deliver(worker, deliveries)
    finally:
        await worker.sender.close()
    _emit_on_demand(worker)
    failures += [d.id for d in deliveries if not d.done]
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failures if i]}


def make_handler(store, queue, generate, cfg, config=None, ping_call=None):
    """A Lambda handler over the given adapters (tests inject theirs; `handler` builds from env).
    `ping_call` answers the keep-alive event (runtime/router/keepalive.py): store and queue unused."""

    def handle(event, context=None):
        if is_keepalive(event):
            if config is None or ping_call is None:
                return {"keepalive": "disabled"}
            from skyrelay.runtime.router.keepalive import ping

            return runtime.loop().run_until_complete(ping(config, ping_call, list(event.get("deployments", []))))
        if is_batch_tick(event):
            return runtime.loop().run_until_complete(batch_tick(store, queue, cfg, config))
        if is_sweep(event):
            return runtime.loop().run_until_complete(sweep(store, queue, cfg))
        return runtime.loop().run_until_complete(process_batch(event, store, queue, generate, cfg))

    return handle


def _build():
    from skyrelay.runtime.jobs.worker import router_generate
    from skyrelay.runtime.providers import stdlib_client as transport
    from skyrelay.runtime.router.router import Router

    started = runtime.start()
    # stdlib transport: one job per invocation, so aiohttp's pool buys nothing and its import is cold-start time
    router = Router(started.config, call=transport.call, open_stream=transport.open_stream)
    return make_handler(started.store, started.queue, router_generate(router, started.jobs.worker.stream_sync), started.jobs, started.config,
                        ping_call=transport.call)


def handler(event, context=None):
    if "handler" not in _state:
        _state["handler"] = _build()
    return _state["handler"](event, context)
