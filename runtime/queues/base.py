"""The `JobQueue` port. A message carries a job id; the job itself lives in the JobStore.

Semantics an adapter must keep (tests/contracts checks them):
- Delivery is at least once. `receive` hides each returned message for `visibility_timeout_s`;
  unless acked in that time, it is delivered again with `receive_count` one higher.
- `interactive` messages are delivered before `batch` messages that are ready at the same time.
  (SQS / Service Bus adapters use one queue per priority and poll interactive first.)
- `enqueue(delay_s=...)` and `nack(delay_s=...)` make a message visible only after the delay.
- A message received `max_receives` times without an ack goes to the dead-letter queue instead of
  being delivered again (the redrive policy). `dead_letter` moves one explicitly, with a reason.
- `ack`, `nack`, `extend` and `dead_letter` act only while the receipt is current; with a stale
  receipt (the message was redelivered since) they do nothing and return False.
- `depth` counts messages not yet acked: ready, delayed and in flight, not the dead letters.
"""

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Priority = Literal["interactive", "batch"]


@dataclass(slots=True)
class Message:
    id: str
    job_id: str
    priority: str
    receive_count: int  # 1 on first delivery
    receipt: str  # the handle that acks / nacks this delivery
    enqueued_at: float


@dataclass(slots=True)
class DeadLetter:
    id: str
    job_id: str
    reason: str
    receive_count: int
    at: float


@runtime_checkable
class JobQueue(Protocol):
    async def enqueue(self, job_id: str, priority: Priority = "interactive", delay_s: float = 0.0) -> str:
        """Returns the message id."""

    async def receive(self, max_messages: int = 1, visibility_timeout_s: float = 30.0) -> list[Message]:
        """Up to `max_messages` ready messages, hidden for `visibility_timeout_s`; may return []."""

    async def ack(self, msg: Message) -> bool:
        """Deletes the message (done)."""

    async def nack(self, msg: Message, delay_s: float = 0.0) -> bool:
        """Returns the message to the queue, visible again after `delay_s`."""

    async def extend(self, msg: Message, visibility_timeout_s: float) -> bool:
        """Keeps an in-flight message hidden for `visibility_timeout_s` from now."""

    async def dead_letter(self, msg: Message, reason: str) -> bool:
        """Moves the message to the dead-letter queue."""

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]: ...

    async def depth(self) -> int: ...

    async def close(self) -> None: ...
