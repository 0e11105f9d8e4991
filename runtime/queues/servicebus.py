"""The Service Bus queue: one queue per priority (interactive, batch), each with its dead-letter
sub-queue, consumed by the Function App's Service Bus triggers (runtime/platforms/azure_functions).

Producer (`ServiceBusQueue`): a message per job, body `{"job_id", "priority"}`; a delay is the
message's `scheduled_enqueue_time_utc` (Service Bus holds it until then). `depth()` is None: the
count of a queue is a management read (the ATOM API's runtime properties) that needs the Manage
right (Data Owner), which the functions do not get; back-pressure then rests on the queue itself
(a send to a full queue fails, and submit answers 503 with Retry-After, the job FAILED
`enqueue_failed`) and on the tenants' rate limits.

Delivery (`ServiceBusDelivery`): one message the trigger handed the function. How it settles under the
Functions host (host.json: `autoCompleteMessages: true`, written by skyrelay.deployment.host_json):
- ack: the function returns; the host completes the message. The common path makes no Service Bus
  call from the function at all, which keeps the cold path off the SDK's slow connection set-up;
- retry(0): the function raises `Abandon`; the host abandons the message: it comes back at once with
  its delivery count one higher, and Service Bus dead-letters it after maxDeliveryCount;
- retry(delay): abandon has no delay (and `defer` would need someone to fetch the message back), so a
  copy is scheduled for now + delay, then the host completes the original. The copy carries the
  message's logical id (`skyrelay_id`: a job's claim names it, so the copy is the same delivery come
  back, not a duplicate) and the receives so far (`skyrelay_receives`), so `receive_count` stays the
  message's total and `last` holds on its maxDeliveryCount-th delivery. A copy that fails to send
  raises: the host abandons instead (no delay, count honest). The copy gets a fresh broker message id,
  so duplicate detection never swallows it;
- dead_letter(reason): settled by lock token as `suspended` with the reason (runtime/clouds/azure/
  servicebus.py: the host receives, the function settles), so the message is in
  `<queue>/$DeadLetterQueue` with DeadLetterReason = the reason, and the job is already FAILED with
  it. The host's own complete afterwards finds the lock gone, which it logs and ignores;
- extend(s): renews the lock by token (the host renews it too, up to maxAutoLockRenewalDuration);
- a crash (the handler raises): unsettled; the function raises, the host abandons.
Why not the SDK-type bindings (azurefunctions-extensions-bindings-servicebus, whose
ServiceBusMessageActions settle through the host): they are beta, need uamqp (deprecated) and
protobuf >= 6.32 (the lock pins 5.x for the Google clients), and still have no delayed abandon.
"""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from skyrelay.runtime.queues.base import DeadLetter, Delivery, Message

PRIORITIES = ("interactive", "batch")
LOGICAL_ID = "skyrelay_id"
PRIOR_RECEIVES = "skyrelay_receives"
DEAD_LETTER_QUEUE = "/$DeadLetterQueue"


class Abandon(Exception):
    """Raised by the trigger handler so the Functions host abandons the message (a retry without delay)."""


def message_body(job_id: str, priority: str) -> str:
    return json.dumps({"job_id": job_id, "priority": priority}, separators=(",", ":"))


def _str(value) -> str | None:
    return value.decode() if isinstance(value, bytes) else (None if value is None else str(value))


class ServiceBusQueue:
    """The QueueProducer on Service Bus, and what a delivery needs to settle (see the module docstring)."""

    def __init__(self, queues: dict[str, str], *, namespace: str | None = None, client_id: str | None = None,
                 connection_string: str | None = None, max_receives: int | None = None):
        from skyrelay.runtime.clouds.azure.servicebus import ServiceBus

        missing = [p for p in PRIORITIES if not queues.get(p)]
        if missing:
            raise ValueError(f"Service Bus queue names missing for {missing}")
        self.queues = dict(queues)
        self.max_receives = max_receives  # the queues' maxDeliveryCount, when the deployment says
        self.bus = ServiceBus(namespace, client_id=client_id, connection_string=connection_string)

    # ---- producer ----
    async def enqueue(self, job_id: str, priority: str = "interactive", delay_s: float = 0.0) -> str:
        if priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {list(PRIORITIES)}")
        message_id = uuid.uuid4().hex
        await self._send(priority, job_id, message_id, {LOGICAL_ID: message_id}, delay_s)
        return message_id

    async def _send(self, priority: str, job_id: str, message_id: str, properties: dict, delay_s: float) -> None:
        from azure.servicebus import ServiceBusMessage

        at = datetime.now(UTC) + timedelta(seconds=delay_s) if delay_s > 0 else None
        await self.bus.send(self.queues[priority], ServiceBusMessage(
            message_body(job_id, priority), message_id=message_id, content_type="application/json",
            application_properties=properties, scheduled_enqueue_time_utc=at))

    async def depth(self) -> int | None:
        return None  # see the module docstring

    # ---- what deliveries call ----
    async def reschedule(self, msg: Message, delay_s: float) -> None:
        """The copy a delayed retry leaves behind (same logical id, the receives so far)."""
        await self._send(msg.priority, msg.job_id, uuid.uuid4().hex,
                         {LOGICAL_ID: msg.id, PRIOR_RECEIVES: msg.receive_count}, delay_s)

    async def dead_letter_by_token(self, msg: Message, reason: str) -> bool:
        return await self.bus.settle(self.queues[msg.priority], msg.receipt, "suspended", reason,
                                     f"job {msg.job_id}: {reason}")

    async def renew_by_token(self, msg: Message) -> bool:
        return await self.bus.renew(self.queues[msg.priority], msg.receipt)

    # ---- the dead-letter queues ----
    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """Peeks both dead-letter queues (nothing is locked or removed)."""
        out: list[DeadLetter] = []
        for priority in PRIORITIES:
            async with self.bus.receiver(self.queues[priority] + DEAD_LETTER_QUEUE) as receiver:
                for m in await receiver.peek_messages(max_message_count=limit):
                    out.append(parse_dead_letter(m, priority))
        out.sort(key=lambda d: d.at)
        return out[:limit]

    async def close(self) -> None:
        await self.bus.close()


def receive_count(delivery_count: int | None, properties: dict | None) -> int:
    """The message's receives in all: the copies' carried count plus this copy's delivery count."""
    prior = (properties or {}).get(PRIOR_RECEIVES) or (properties or {}).get(PRIOR_RECEIVES.encode()) or 0
    return int(prior) + int(delivery_count or 1)


def _props(properties: dict | None) -> dict:
    return {_str(k): v for k, v in (properties or {}).items()}


def parse_function_message(msg, priority: str | None = None) -> Message:
    """A Message from the azure.functions ServiceBusMessage a trigger hands the function (its
    `delivery_count` is the host's: 1 on the first delivery)."""
    body = json.loads(msg.get_body())
    props = _props(msg.application_properties)
    enqueued = msg.enqueued_time_utc
    return Message(
        id=_str(props.get(LOGICAL_ID)) or msg.message_id,
        job_id=body["job_id"],
        priority=body.get("priority") or priority or "interactive",
        receive_count=receive_count(msg.delivery_count, props),
        receipt=msg.lock_token or "",
        enqueued_at=enqueued.timestamp() if enqueued else time.time(),
    )


def parse_dead_letter(m, priority: str) -> DeadLetter:
    """A DeadLetter from a peeked azure.servicebus message of a dead-letter queue. Its AMQP delivery
    count is the deliveries it had before Service Bus gave up on it."""
    body = json.loads(b"".join(m.body) if not isinstance(m.body, (bytes, str)) else m.body)
    props = _props(m.application_properties)
    return DeadLetter(
        id=_str(props.get(LOGICAL_ID)) or m.message_id,
        job_id=body["job_id"],
        reason=m.dead_letter_reason or "",
        receive_count=receive_count(m.delivery_count or 1, props),
        at=m.enqueued_time_utc.timestamp() if m.enqueued_time_utc else 0.0,
    )


class ServiceBusDelivery(Delivery):
    """A message a Service Bus trigger delivered (see the module docstring for each settlement).
    `outcome` is what the host must do once the handler returns: complete, or abandon (None: not
    settled, a crash: abandon)."""

    __slots__ = ("queue", "outcome", "sequence_number")

    def __init__(self, queue: ServiceBusQueue, message: Message, sequence_number: int | None = None):
        super().__init__(message, queue.max_receives)
        self.queue = queue
        self.outcome: str | None = None
        self.sequence_number = sequence_number

    @classmethod
    def from_function_message(cls, queue: ServiceBusQueue, msg, priority: str | None = None) -> "ServiceBusDelivery":
        return cls(queue, parse_function_message(msg, priority), msg.sequence_number)

    @property
    def abandon(self) -> bool:
        return self.outcome in (None, "abandon")

    async def ack(self) -> bool:
        self.outcome = "complete"
        return True

    async def retry(self, delay_s: float = 0.0) -> bool:
        if delay_s <= 0:
            self.outcome = "abandon"
            return True
        await self.queue.reschedule(self.message, delay_s)
        self.outcome = "complete"
        return True

    async def extend(self, seconds: float) -> bool:
        return await self.queue.renew_by_token(self.message)

    async def dead_letter(self, reason: str) -> bool:
        ok = await self.queue.dead_letter_by_token(self.message, reason)
        if ok:
            self.outcome = "dead_lettered"
        return ok


def from_config(cfg, store_cfg=None) -> ServiceBusQueue:
    """Factory for runtime.queues.ADAPTERS (`jobs.queue.backend: servicebus`), from the queue config's
    `options`: `interactive_queue`, `batch_queue` (required), `namespace` (production, with
    `client_id`, the managed identity) or `connection_string` (an emulator). On Azure Functions,
    bootstrap fills them from the variables AsyncJobs sets."""
    options = dict(getattr(cfg, "options", None) or {})
    for priority in PRIORITIES:
        if not options.get(f"{priority}_queue"):
            raise ValueError(f"jobs.queue.options.{priority}_queue: required for the servicebus backend")
    if not options.get("namespace") and not options.get("connection_string"):
        raise ValueError("jobs.queue.options.namespace: required for the servicebus backend")
    return ServiceBusQueue({p: options[f"{p}_queue"] for p in PRIORITIES}, namespace=options.get("namespace"),
                           client_id=options.get("client_id"), connection_string=options.get("connection_string"),
                           max_receives=cfg.max_receives)
