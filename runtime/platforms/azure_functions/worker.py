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
re-enqueued.
"""

import logging

log = logging.getLogger("skyrelay.functions.worker")


class Handlers:
    """The worker's adapters, built once per worker process (tests build theirs)."""

    def __init__(self, store, queue, generate, cfg, name: str = "functions", router=None):
        from skyrelay.runtime.jobs.worker import Worker

        self.store, self.queue, self.cfg, self.router = store, queue, cfg, router
        self.worker = Worker(store, queue, generate, cfg, name=name, sweep=False)

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


def build() -> Handlers:
    from skyrelay.runtime.jobs.worker import router_generate
    from skyrelay.runtime.platforms.azure_functions import runtime
    from skyrelay.runtime.router.router import Router

    started = runtime.start()
    router = Router(started.config)
    return Handlers(started.store, started.queue, router_generate(router), started.jobs, router=router)
