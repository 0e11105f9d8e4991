"""Dead-letter replay on SQS (runtime/jobs/replay.py's source): the dead letters are in each priority
queue's DLQ (the redrive policy's target). The dry run peeks them (SqsJobQueue.dead_letters: receive
with visibility 0); a replay receives them hidden for HOLD_S, and per job either sends a fresh
message to its queue and deletes the dead letter, or makes it visible again.

Why not SQS's own `StartMessageMoveTask`: it moves every message of a DLQ back to its source as it is,
without the job store. A FAILED job's message moved back would meet a final job and be acked and
dropped; replay must reset each job (PENDING, attempts 0) before its message, and leave the dead
letters of jobs that must not run again (COMPLETE, in flight, expired) where they are."""

import json

from skyrelay.runtime.jobs.replay import DeadJob
from skyrelay.runtime.queues.sqs import SqsJobQueue, parse_dead_letter

HOLD_S = 120  # the dead letters taken stay hidden this long while the replay decides


class SqsDeadLetters:
    def __init__(self, queue: SqsJobQueue):
        self.queue = queue

    async def peek(self, limit: int) -> list[DeadJob]:
        return [DeadJob(d.job_id, d.reason, None) for d in await self.queue.dead_letters(limit)]

    async def take(self, limit: int) -> list[DeadJob]:
        out: list[DeadJob] = []
        for priority, url in (await self.queue._dlqs()).items():  # noqa: SLF001 - the queue's DLQ discovery
            while len(out) < limit:
                got = (await self.queue._call(  # noqa: SLF001
                    "receive_message", QueueUrl=url, MaxNumberOfMessages=min(10, limit - len(out)),
                    VisibilityTimeout=HOLD_S, WaitTimeSeconds=0, MessageAttributeNames=["All"],
                    MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"])).get("Messages", [])
                if not got:
                    break
                for raw in got:
                    d = parse_dead_letter(raw, priority)
                    out.append(DeadJob(d.job_id, d.reason, json.loads(raw["Body"]).get("priority") or priority,
                                       (url, raw["ReceiptHandle"])))
        return out

    async def requeue(self, dead: DeadJob, priority: str) -> None:
        await self.queue.enqueue(dead.job_id, priority)
        url, receipt = dead.handle
        await self.queue._call("delete_message", QueueUrl=url, ReceiptHandle=receipt)  # noqa: SLF001

    async def release(self, dead: DeadJob) -> None:
        url, receipt = dead.handle
        await self.queue._call("change_message_visibility", QueueUrl=url, ReceiptHandle=receipt,  # noqa: SLF001
                               VisibilityTimeout=0)

    async def close(self) -> None:
        return None


def from_queue(queue: SqsJobQueue) -> SqsDeadLetters:
    return SqsDeadLetters(queue)

