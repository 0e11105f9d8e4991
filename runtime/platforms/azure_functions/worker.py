"""The Service Bus trigger's handler: a thin mapping from the message the Functions host hands the
function onto the shared push delivery (runtime/jobs/delivery.py), answered the host's way.

The host completes the message when the function returns and abandons it when the function raises
(host.json: autoCompleteMessages). So, after the worker settled the delivery
(runtime/queues/servicebus.py: ServiceBusDelivery):
- acked, retried with a delay (a scheduled copy is out) or dead-lettered (by lock token): return;
- retried without delay, or not settled because the handler crashed: raise, and the host abandons
  (the message comes back with its delivery count one higher; Service Bus dead-letters it after
  maxDeliveryCount, and on that last delivery the job is marked FAILED first: `poison_message`).
A message that is not a job message is dead-lettered at once (`not_a_job_message`).

The sweeper runs on a timer (`sweep`): PENDING jobs untouched for `worker.sweep_grace_s` are
re-enqueued. The batcher runs on another (`batch_tick`): one `Batcher.tick()` (runtime/batch/
wiring.py run_tick) forms, submits and polls provider batch jobs over the batch container.

Metrics: every job that reaches a final state here writes one metric line (runtime/platforms/
metrics.py: the Embedded Metric Format document Lambda and Cloud Run print, `Jobs`, `Tokens`,
`CostUsd`, `CacheHits`, `LatencyMs` by `Tenant` and `Mode`, and `Status`), and a batcher tick its
lines by mode (`Jobs`, `BatchCostUsd`, `BatchSavedUsd` by `Mode`). They go to the
deployment.AZURE_METRIC_LOGGER logger at INFO: Python logging in a function reaches the Functions
host, which sends it to Application Insights as a trace (AppTraces.Message), where the review
dashboard (components/azure/observability.py) reads the fields with parse_json(Message).
"""

import logging

from skyrelay import deployment as contract

log = logging.getLogger("skyrelay.functions.worker")
metrics_log = logging.getLogger(contract.AZURE_METRIC_LOGGER)
metrics_log.setLevel(logging.INFO)  # whatever the root logger's level: the host filters by host.json


def log_line(line: str) -> None:
    """A metric line to App Insights (through the host's logging channel): the message is the JSON."""
    metrics_log.info(line)


class Handlers:
    """The worker's adapters, built once per worker process (tests build theirs)."""

    def __init__(self, store, queue, generate, cfg, name: str = "functions", router=None, config=None,
                 write=log_line):
        from skyrelay.runtime.jobs.worker import Worker
        from skyrelay.runtime.platforms.metrics import ObservedStore

        self.store, self.queue, self.cfg, self.router, self.config = store, queue, cfg, router, config
        self.name, self.write = name, write
        self.worker = Worker(ObservedStore(store, write), queue, generate, cfg, name=name, sweep=False)

    async def message(self, msg, priority: str) -> None:
        """Handles one trigger message; raises when the host must abandon it."""
        from skyrelay.runtime.jobs.delivery import deliver
        from skyrelay.runtime.queues.servicebus import Abandon, ServiceBusDelivery

        try:
            delivery = ServiceBusDelivery.from_function_message(self.queue, msg, priority)
        except (KeyError, TypeError, ValueError) as exc:
            log.error("message %s is not a job message: %s", msg.message_id, exc)
            if not await self.queue.bus.settle(self.queue.queues[priority], msg.lock_token, "suspended",
                                               "not_a_job_message", str(exc)[:200]):
                raise
            return
        (crash,) = await deliver(self.worker, [delivery])
        if crash is not None:
            raise crash
        if delivery.abandon:
            raise Abandon(f"job {delivery.job_id}: retry now (receive {delivery.receive_count})")

    async def close(self) -> None:
        """What a worker process releases when it stops (the host ends the process; tests call it)."""
        await self.worker.sender.close()
        if self.router is not None:
            await self.router.aclose()
        await self.store.close()
        await self.queue.close()

    async def sweep(self) -> int:
        from skyrelay.runtime.jobs.sweeper import Sweeper

        return await Sweeper(self.store, self.queue, self.cfg, name="functions:sweeper").sweep_once()

    async def batch_tick(self) -> dict:
        """One batcher tick ({"batch": "disabled"} when the stack deployed no batch container)."""
        from skyrelay.runtime.batch.observe import EmfObserve
        from skyrelay.runtime.batch.wiring import run_tick

        return await run_tick(self.store, self.queue, self.cfg, self.config, EmfObserve(self.write),
                              self.name + ":batcher")


def build() -> Handlers:
    from skyrelay.runtime.jobs.worker import router_generate
    from skyrelay.runtime.platforms.azure_functions import runtime
    from skyrelay.runtime.providers import stdlib_client as transport
    from skyrelay.runtime.router.router import Router

    started = runtime.start()
    # stdlib transport, as on Lambda: one job per invocation, so aiohttp's pool buys nothing and its
    # import is cold-start time
    router = Router(started.config, call=transport.call, open_stream=transport.open_stream)
    return Handlers(started.store, started.queue, router_generate(router, started.jobs.worker.stream_sync), started.jobs, router=router,
                    config=started.config)
