"""A Function App worker process for the Azure durability test: the test-side Functions host (receive
in peek-lock from both queues, up to 8 messages at a time, run the Service Bus trigger's handler,
then complete or abandon) around the real handler (runtime/platforms/azure_functions/worker.py) over
the Cosmos store and the Service Bus queue, with an in-process fake upstream that appends one line per
call to a log (O_APPEND writes survive SIGKILL).

    python -m tests.azure_runtime.durability_worker <container> <interactive queue> <batch queue> <calls.log> <max_attempts>

The peers' endpoints come in the environment, under the deployment contract's names.
"""

import asyncio
import contextlib
import os
import sys

from skyrelay import deployment as contract
from skyrelay.runtime.jobs.config import JobsConfig
from skyrelay.runtime.platforms.azure_functions.worker import Handlers
from skyrelay.runtime.queues.servicebus import ServiceBusQueue
from skyrelay.runtime.stores.cosmos import CosmosJobStore
from tests.contracts.azure_adapters import DATABASE, function_message
from tests.durability import logging_upstream

CONCURRENCY = 8
LOCK_S = 3  # the queues' lock duration (the test makes them)


async def main(container: str, interactive: str, batch: str, log_path: str, max_attempts: int) -> None:
    from azure.servicebus.aio import ServiceBusClient

    generate = logging_upstream(log_path)

    cfg = JobsConfig.model_validate({
        "queue": {"visibility_timeout_s": LOCK_S, "max_receives": 50},
        "worker": {"max_attempts": max_attempts, "backoff_base_s": 0.05, "backoff_max_s": 0.2},
    })
    queues = {"interactive": interactive, "batch": batch}
    connection = os.environ[contract.SERVICEBUS_EMULATOR_CONNECTION]
    queue = ServiceBusQueue(queues, connection_string=connection, max_receives=50)
    store = CosmosJobStore(os.environ[contract.COSMOS_ENDPOINT], DATABASE, container,
                           emulator_key=os.environ[contract.COSMOS_EMULATOR_KEY])
    handlers = Handlers(store, queue, generate, cfg, name=f"pid-{os.getpid()}")
    client = ServiceBusClient.from_connection_string(connection)
    receivers = {p: client.get_queue_receiver(q, prefetch_count=0) for p, q in queues.items()}
    for r in receivers.values():
        await r._open()  # noqa: SLF001
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one(priority, m):
        try:
            try:
                await handlers.message(function_message(m), priority)
                abandon = False
            except Exception:
                abandon = True
            # a lock already gone (the handler dead-lettered the message, or it expired): the host logs it
            with contextlib.suppress(Exception):
                await (receivers[priority].abandon_message(m) if abandon else receivers[priority].complete_message(m))
        finally:
            slots.release()

    print("ready", flush=True)
    while True:
        for priority in ("interactive", "batch"):
            await slots.acquire()
            got = await receivers[priority].receive_messages(max_message_count=1, max_wait_time=0.05)
            if not got:
                slots.release()
                continue
            for m in got:
                asyncio.create_task(one(priority, m))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
