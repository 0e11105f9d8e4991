"""The queue ports, split by role, because the clouds' queues differ in what they can do:

- `QueueProducer` (every cloud): enqueue a job id with a priority and a delay; `depth` where the
  cloud can count cheaply (None where it cannot: Cloud Tasks).
- `Delivery` (every cloud): one message in the worker's hand, with `ack`, `retry(delay_s)`,
  `dead_letter(reason)`, `extend(s)` and `receive_count`. How a delivery settles is the cloud's
  business: a pull queue deletes or re-hides the message; a Lambda SQS batch reports item failures;
  a Service Bus trigger completes, abandons or dead-letters; a Cloud Tasks push answers 2xx or not.
  `max_receives` is the queue's own redelivery limit (None: unlimited), and `dead_letter_queue` says
  whether the queue keeps what it gives up on (Cloud Tasks has no DLQ: it drops the task, so the
  worker must have marked the job FAILED by then).
- `PullQueue` (SQLite locally, SQS): a producer that also hands out deliveries on `receive`, for
  long-lived workers, and lists its dead letters.

Semantics an adapter keeps (tests/contracts runs them on every adapter):
- Delivery is at least once. A delivery neither acked nor retried comes back (after the pull
  queue's visibility timeout, Service Bus's lock, Cloud Tasks' dispatch deadline) with
  `receive_count` one higher.
- `interactive` messages are delivered before `batch` messages that are ready at the same time.
- `enqueue(delay_s=...)` and `retry(delay_s=...)` make a message deliverable only after the delay
  (Cloud Tasks: its queue's backoff decides the retry delay).
- A message delivered `max_receives` times without an ack is dead-lettered by the queue itself
  (SQS's redrive policy); `dead_letter(reason)` does it explicitly.
- Settling a delivery whose message was delivered again since (a stale receipt) does nothing and
  returns False.
"""

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Priority = Literal["interactive", "batch"]


@dataclass(slots=True)
class Message:
    """A received message: the job it names and the handle that settles this delivery of it."""

    id: str
    job_id: str
    priority: str
    receive_count: int  # 1 on first delivery
    receipt: str
    enqueued_at: float


@dataclass(slots=True)
class DeadLetter:
    id: str
    job_id: str
    reason: str
    receive_count: int
    at: float


@runtime_checkable
class QueueProducer(Protocol):
    async def enqueue(self, job_id: str, priority: Priority = "interactive", delay_s: float = 0.0) -> str:
        """Returns the message id."""

    async def depth(self) -> int | None:
        """Messages not yet acked (ready, delayed and in flight; not the dead letters), or None when
        the cloud cannot count them cheaply."""

    async def close(self) -> None: ...


class Delivery:
    """One message in the worker's hand. Subclasses settle it the way their cloud does."""

    __slots__ = ("message", "max_receives")
    dead_letter_queue = True  # False where the queue drops what it gives up on (Cloud Tasks)

    def __init__(self, message: Message, max_receives: int | None):
        self.message, self.max_receives = message, max_receives

    # read-through, so a delivery reads like the message it carries
    @property
    def id(self) -> str:
        return self.message.id

    @property
    def job_id(self) -> str:
        return self.message.job_id

    @property
    def priority(self) -> str:
        return self.message.priority

    @property
    def receive_count(self) -> int:
        return self.message.receive_count

    @property
    def last(self) -> bool:
        """The queue will not deliver this message again if it is not settled now."""
        return self.max_receives is not None and self.receive_count >= self.max_receives

    async def ack(self) -> bool:
        """Done: the message is not delivered again."""
        raise NotImplementedError

    async def retry(self, delay_s: float = 0.0) -> bool:
        """Deliver the message again after `delay_s`."""
        raise NotImplementedError

    async def extend(self, seconds: float) -> bool:
        """Keep the message from being redelivered for `seconds` from now (a long job)."""
        raise NotImplementedError

    async def dead_letter(self, reason: str) -> bool:
        """Give up on the message (into the DLQ where the queue has one)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


@runtime_checkable
class PullQueue(QueueProducer, Protocol):
    async def receive(self, max_messages: int = 1, visibility_timeout_s: float = 30.0) -> list[Delivery]:
        """Up to `max_messages` ready messages, hidden for `visibility_timeout_s`; may return []."""

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]: ...

    # Settling by receipt, what PulledDelivery calls:
    async def ack(self, msg: Message) -> bool: ...

    async def nack(self, msg: Message, delay_s: float = 0.0) -> bool: ...

    async def extend(self, msg: Message, visibility_timeout_s: float) -> bool: ...

    async def dead_letter(self, msg: Message, reason: str) -> bool: ...


class PulledDelivery(Delivery):
    """A delivery from a pull queue: each settlement is the queue's call with this message's receipt."""

    __slots__ = ("queue",)

    def __init__(self, queue: PullQueue, message: Message, max_receives: int | None):
        super().__init__(message, max_receives)
        self.queue = queue

    async def ack(self) -> bool:
        return await self.queue.ack(self.message)

    async def retry(self, delay_s: float = 0.0) -> bool:
        return await self.queue.nack(self.message, delay_s)

    async def extend(self, seconds: float) -> bool:
        return await self.queue.extend(self.message, seconds)

    async def dead_letter(self, reason: str) -> bool:
        return await self.queue.dead_letter(self.message, reason)
