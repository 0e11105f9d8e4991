"""Service Bus through `azure-servicebus` (async, AMQP): one client per namespace and event loop, its senders
per queue, and settlement by lock token.

Authentication: the managed identity on `<namespace>.servicebus.windows.net` (the namespace has local
auth disabled; the component grants the identity Data Sender and Data Receiver), or, in tests, an
emulator connection string (`UseDevelopmentEmulator=true`: plain AMQP to its host and port).

Settlement by lock token. The Functions host receives a message and hands the function its lock
token; the function settles that message from its own connection through the queue's `$management`
node (`com.microsoft:update-disposition`, `com.microsoft:renew-lock`). Service Bus keeps locks per
entity, not per link, so any receiver of the entity may settle a non-session message by its token:
the cross-receiver settlement the .NET and Go SDKs expose. The Python SDK has the same requests,
used for deferred messages and as its fallback when a receive link is gone
(`ServiceBusReceiver._settle_message_via_mgmt_link`, `_renew_locks`), but no public call that takes a
bare token: this module wraps those two methods of the pinned azure-servicebus (7.15), and
tests/azure_runtime runs them against the peer.

The SDK's connection set-up polls its handshake in 50 ms steps (about 0.5 s for a fresh connection),
so nothing here connects until a message must be sent or settled by the runtime itself.
"""

import uuid

from skyrelay.runtime.clouds.azure.identity import async_credential

DEAD_LETTER_QUEUE = "/$DeadLetterQueue"


class ServiceBus:
    """The runtime's Service Bus connection for one namespace (opened on first use, in the running loop)."""

    def __init__(self, namespace: str | None = None, *, client_id: str | None = None,
                 connection_string: str | None = None):
        if not namespace and not connection_string:
            raise ValueError("a Service Bus namespace (or an emulator connection string) is required")
        self.namespace, self.client_id, self.connection_string = namespace, client_id, connection_string
        self._client = None
        self._senders: dict[str, object] = {}
        self._settlers: dict[str, object] = {}

    @property
    def client(self):
        if self._client is None:
            from azure.servicebus.aio import ServiceBusClient

            if self.connection_string:
                self._client = ServiceBusClient.from_connection_string(self.connection_string)
            else:
                self._client = ServiceBusClient(self.namespace, async_credential(self.client_id))
        return self._client

    async def send(self, queue: str, message) -> None:
        """Sends one azure.servicebus.ServiceBusMessage (its scheduled_enqueue_time_utc is a delay)."""
        sender = self._senders.get(queue)
        if sender is None:
            sender = self._senders[queue] = self.client.get_queue_sender(queue)
        await sender.send_messages(message)

    async def _settler(self, entity: str):
        """A receiver of `entity` used only for its $management link (it never receives)."""
        receiver = self._settlers.get(entity)
        if receiver is None:
            receiver = self._settlers[entity] = self.receiver(entity, prefetch_count=0)
            await receiver._open()  # noqa: SLF001 - see the module docstring
        return receiver

    async def settle(self, entity: str, lock_token: str, status: str, reason: str | None = None,
                     description: str | None = None) -> bool:
        """`status`: completed, abandoned, suspended (dead-letter, with the reason) or defered. False
        when the lock is gone (expired, or the message was settled or redelivered since)."""
        from azure.servicebus.exceptions import MessageLockLostError, ServiceBusError

        details = ({"deadletter-reason": reason or "", "deadletter-description": description or ""}
                   if status == "suspended" else None)
        receiver = await self._settler(entity)
        try:
            await receiver._settle_message_via_mgmt_link(status, [uuid.UUID(str(lock_token))], details)  # noqa: SLF001
        except MessageLockLostError:
            return False
        except ServiceBusError as exc:  # the service answers 410 Gone with the lock-lost condition
            if "lock" in str(exc).lower():
                return False
            raise
        return True

    async def renew(self, entity: str, lock_token: str) -> bool:
        from azure.servicebus.exceptions import MessageLockLostError, ServiceBusError

        receiver = await self._settler(entity)
        try:
            await receiver._renew_locks(uuid.UUID(str(lock_token)))  # noqa: SLF001
        except (MessageLockLostError, ServiceBusError):
            return False
        return True

    def receiver(self, entity: str, **kwargs):
        """A receiver of a queue or its dead-letter queue (`<queue>/$DeadLetterQueue`), for replay."""
        from azure.servicebus import ServiceBusSubQueue

        queue = entity.removesuffix(DEAD_LETTER_QUEUE)
        if entity.endswith(DEAD_LETTER_QUEUE):
            kwargs["sub_queue"] = ServiceBusSubQueue.DEAD_LETTER
        return self.client.get_queue_receiver(queue, **kwargs)

    async def close(self) -> None:
        handlers = [*self._senders.values(), *self._settlers.values()]
        self._senders.clear()
        self._settlers.clear()
        for handler in handlers:
            await handler.close()
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()
