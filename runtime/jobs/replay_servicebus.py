"""Dead-letter replay on Service Bus (runtime/jobs/replay.py's source): the dead letters are in each
priority queue's `<queue>/$DeadLetterQueue`. The dry run peeks them (nothing locked); a replay
receives them in peek-lock, and per job either sends a fresh message to the queue and completes the
dead letter, or abandons it (it stays in the dead-letter queue, unlocked)."""

from skyrelay.runtime.jobs.replay import DeadJob
from skyrelay.runtime.queues.servicebus import (
    DEAD_LETTER_QUEUE,
    PRIORITIES,
    ServiceBusQueue,
    parse_dead_letter,
)

WAIT_S = 2.0  # the longest a receive waits for the next dead letter


class ServiceBusDeadLetters:
    def __init__(self, queue: ServiceBusQueue):
        self.queue = queue
        self._receivers: dict[str, object] = {}

    def _receiver(self, priority: str):
        if priority not in self._receivers:
            self._receivers[priority] = self.queue.bus.receiver(self.queue.queues[priority] + DEAD_LETTER_QUEUE,
                                                                prefetch_count=0)
        return self._receivers[priority]

    async def peek(self, limit: int) -> list[DeadJob]:
        return [DeadJob(d.job_id, d.reason, priority)
                for priority in PRIORITIES
                for d in (parse_dead_letter(m, priority)
                          for m in await self._receiver(priority).peek_messages(max_message_count=limit))][:limit]

    async def take(self, limit: int) -> list[DeadJob]:
        out: list[DeadJob] = []
        for priority in PRIORITIES:
            receiver = self._receiver(priority)
            while len(out) < limit:
                got = await receiver.receive_messages(max_message_count=min(50, limit - len(out)), max_wait_time=WAIT_S)
                if not got:
                    break
                for m in got:
                    d = parse_dead_letter(m, priority)
                    out.append(DeadJob(d.job_id, d.reason, priority, (priority, m)))
        return out

    async def requeue(self, dead: DeadJob, priority: str) -> None:
        await self.queue.enqueue(dead.job_id, priority)
        source, message = dead.handle
        await self._receiver(source).complete_message(message)

    async def release(self, dead: DeadJob) -> None:
        source, message = dead.handle
        await self._receiver(source).abandon_message(message)

    async def close(self) -> None:
        receivers = list(self._receivers.values())
        self._receivers.clear()
        for r in receivers:
            await r.close()


def from_queue(queue: ServiceBusQueue) -> ServiceBusDeadLetters:
    return ServiceBusDeadLetters(queue)
