"""The Azure entries of the contract suites (registered in tests/contracts/conftest.py): the Cosmos DB
store on the cosmosdb-server peer, and Service Bus as the Functions host delivers it, on the
in-project AMQP peer, with the test playing the host."""

import contextlib
import uuid

from skyrelay.deployment import COSMOS_CONTAINER_SPEC
from tests import peers

DATABASE = "skyrelay"


async def fresh_container(prefix: str = "jobs") -> str:
    from skyrelay.runtime.clouds.azure.cosmos import create_container

    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    await create_container(peers.cosmos(), DATABASE, name, COSMOS_CONTAINER_SPEC, peers.COSMOS_EMULATOR_KEY)
    return name


def cosmos_on(container: str, **kw):
    from skyrelay.runtime.stores.cosmos import CosmosJobStore

    return CosmosJobStore(peers.cosmos(), DATABASE, container, emulator_key=peers.COSMOS_EMULATOR_KEY, **kw)


async def cosmos_store(tmp_path):
    return cosmos_on(await fresh_container())


def cosmos_twin(store):
    return cosmos_on(store.container_name)


class FunctionsHost:
    """What the Functions host does with a Service Bus trigger, played by the test: receive in
    peek-lock from the interactive then the batch queue, hand the function azure.functions
    ServiceBusMessage objects (the host's delivery count is 1-based; the AMQP header's is not), and,
    once the handler returned, complete the message or (on a raise) abandon it
    (host.json: autoCompleteMessages)."""

    def __init__(self, bus: peers.ServiceBusPeer, queues: dict[str, str]):
        from azure.servicebus.aio import ServiceBusClient

        self.bus, self.queues = bus, queues
        self.client = ServiceBusClient.from_connection_string(bus.connection_string)
        self.receivers = {p: self.client.get_queue_receiver(q, prefetch_count=0) for p, q in queues.items()}
        self.received: dict[str, tuple[str, object]] = {}  # lock token -> (priority, SDK message)

    async def open(self) -> "FunctionsHost":
        """Attaches the receive links first: the SDK's link set-up (~0.5 s) would eat a short receive wait."""
        for r in self.receivers.values():
            await r._open()  # noqa: SLF001 - the SDK opens on first receive, within that receive's wait
        return self

    async def receive(self, n: int, wait_s: float = 0.3) -> list:
        """Up to n function messages ready now, interactive first."""
        out = []
        for priority in ("interactive", "batch"):
            if len(out) >= n:
                break
            got = await self.receivers[priority].receive_messages(max_message_count=n - len(out), max_wait_time=wait_s)
            for m in got:
                self.received[str(m.lock_token)] = (priority, m)
                out.append((priority, function_message(m)))
        return out

    async def settle(self, lock_token: str, abandon: bool) -> None:
        """The host's settlement after the function ran; a lock the function already settled (its
        dead-letter) is gone, which the host logs and ignores."""
        from azure.servicebus.exceptions import MessageLockLostError, ServiceBusError

        priority, m = self.received.pop(lock_token)
        receiver = self.receivers[priority]
        with contextlib.suppress(MessageLockLostError, ServiceBusError):
            await (receiver.abandon_message(m) if abandon else receiver.complete_message(m))

    async def close(self) -> None:
        for r in self.receivers.values():
            await r.close()
        await self.client.close()


def function_message(m):
    """The azure.functions ServiceBusMessage the Python worker builds from what the host received."""
    from azure.functions.servicebus import ServiceBusMessage

    body = b"".join(m.body) if not isinstance(m.body, (bytes, str)) else m.body
    props = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
             for k, v in (m.application_properties or {}).items()}
    return ServiceBusMessage(
        body=body if isinstance(body, bytes) else body.encode(), message_id=m.message_id,
        delivery_count=(m.delivery_count or 0) + 1, lock_token=str(m.lock_token),
        enqueued_time_utc=m.enqueued_time_utc, sequence_number=m.sequence_number, locked_until=m.locked_until_utc,
        content_type=m.content_type, application_properties=props, user_properties=props)


def servicebus_queues(max_receives: int, lock_duration_s: float = 30.0) -> dict[str, str]:
    bus = peers.servicebus()
    tag = uuid.uuid4().hex[:8]
    return {p: bus.create_queue(f"jobs-{p}-{tag}", max_delivery_count=max_receives, lock_duration_s=lock_duration_s)
            for p in ("interactive", "batch")}


def servicebus_producer(queues: dict[str, str], max_receives: int | None):
    from skyrelay.runtime.queues.servicebus import ServiceBusQueue

    return ServiceBusQueue(queues, connection_string=peers.servicebus().connection_string, max_receives=max_receives)


async def servicebus_functions_queue(tmp_path, max_receives: int):
    """Service Bus as the Functions trigger delivers it (ServiceBusDelivery from the function's
    message); `finish` is the host's complete-or-abandon."""
    from skyrelay.runtime.queues.servicebus import ServiceBusDelivery
    from tests.contracts.conftest import QueueUnderTest

    queues = servicebus_queues(max_receives)
    producer = servicebus_producer(queues, max_receives)
    host = await FunctionsHost(peers.servicebus(), queues).open()

    async def deliver(n: int, visibility_s: float):
        return [ServiceBusDelivery.from_function_message(producer, msg, priority)
                for priority, msg in await host.receive(n)]

    async def finish(batch) -> None:
        for d in batch:
            await host.settle(d.message.receipt, d.abandon)

    async def close() -> None:
        await host.close()
        await producer.close()

    return QueueUnderTest(producer, deliver, finish, producer.dead_letters, None, close)
