"""The SQS JobQueue: one standard queue per priority, each with its own DLQ (redrive policy).

- `receive` polls the interactive queue first and fills the rest of the batch from the batch queue.
- The redrive policy on each queue (AsyncJobs sets it) dead-letters a message after
  `maxReceiveCount` receives; `max_receives` here is only what the contract factory configures.
- Messages carry `{"job_id", "priority"}`; the job lives in the JobStore.
- SQS accepts a stale receipt handle for DeleteMessage. The port wants stale acks refused, so this
  adapter remembers the newest receipt it handed out per message and refuses older ones. That check
  is per adapter instance (per Lambda container); across containers, a stale ack is harmless because
  job completion is a conditional write in the store.
- `dead_letter` copies the message to the DLQ with the reason as message attributes, then deletes it.

The client (`runtime/clouds/aws/adapter.py`) is made on first use; calls run in a thread so the event loop
never blocks.
"""

import json
import math
import time
from collections import OrderedDict
from typing import Any

from skyrelay.runtime.clouds.aws.adapter import AwsAdapter
from skyrelay.runtime.clouds.aws.errors import error_code
from skyrelay.runtime.queues.base import DeadLetter, Delivery, Message, PulledDelivery

PRIORITIES = ("interactive", "batch")
MAX_DELAY_S = 900  # SQS DelaySeconds maximum
MAX_VISIBILITY_S = 43200


class SqsJobQueue(AwsAdapter):
    service = "sqs"

    def __init__(
        self,
        interactive_url: str,
        batch_url: str,
        client: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        wait_time_s: int = 0,
        dlq_urls: dict[str, str] | None = None,
        max_receives: int | None = None,
    ):
        super().__init__(client, endpoint_url, region)
        self.urls = {"interactive": interactive_url, "batch": batch_url}
        self.wait_time_s = wait_time_s
        self.max_receives = max_receives  # the redrive policy's maxReceiveCount, when the deployment says
        # Known DLQ URLs (the AWS components set them) save two discovery calls and the
        # sqs:GetQueueUrl permission; without them the redrive policy names the DLQ.
        self._dlq_urls: dict[str, str] | None = dlq_urls if dlq_urls and all(dlq_urls.get(p) for p in self.urls) else None
        self._receipts: OrderedDict[str, str] = OrderedDict()  # message id -> newest receipt

    # ---- port ----
    async def enqueue(self, job_id: str, priority: str = "interactive", delay_s: float = 0.0) -> str:
        if priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {list(PRIORITIES)}")
        out = await self._call(
            "send_message",
            QueueUrl=self.urls[priority],
            MessageBody=json.dumps({"job_id": job_id, "priority": priority}),
            DelaySeconds=min(MAX_DELAY_S, max(0, math.ceil(delay_s))),
        )
        return out["MessageId"]

    async def receive(self, max_messages: int = 1, visibility_timeout_s: float = 30.0) -> list[PulledDelivery]:
        got: list[Message] = []
        for priority in PRIORITIES:
            want = max_messages - len(got)
            if want <= 0:
                break
            out = await self._call(
                "receive_message",
                QueueUrl=self.urls[priority],
                MaxNumberOfMessages=min(10, want),
                VisibilityTimeout=min(MAX_VISIBILITY_S, max(0, math.ceil(visibility_timeout_s))),
                WaitTimeSeconds=self.wait_time_s,
                MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
            )
            got += [PulledDelivery(self, self._remember(parse_message(raw, priority)), self.max_receives)
                    for raw in out.get("Messages", [])]
        return got

    async def ack(self, msg: Message) -> bool:
        if not self._current(msg):
            return False
        await self._call("delete_message", QueueUrl=self.urls[msg.priority], ReceiptHandle=msg.receipt)
        self._receipts.pop(msg.id, None)
        return True

    async def nack(self, msg: Message, delay_s: float = 0.0) -> bool:
        return await self._visibility(msg, delay_s)

    async def extend(self, msg: Message, visibility_timeout_s: float) -> bool:
        return await self._visibility(msg, visibility_timeout_s)

    async def dead_letter(self, msg: Message, reason: str) -> bool:
        if not self._current(msg):
            return False
        dlq = (await self._dlqs())[msg.priority]
        await self._call(
            "send_message",
            QueueUrl=dlq,
            MessageBody=json.dumps({"job_id": msg.job_id, "priority": msg.priority}),
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": reason},
                "receive_count": {"DataType": "Number", "StringValue": str(msg.receive_count)},
                "message_id": {"DataType": "String", "StringValue": msg.id},
            },
        )
        await self._call("delete_message", QueueUrl=self.urls[msg.priority], ReceiptHandle=msg.receipt)
        self._receipts.pop(msg.id, None)
        return True

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """Peeks the DLQs (receive with visibility 0, de-duplicated): reason `max_receives` for
        messages the redrive policy moved, or the reason `dead_letter` recorded."""
        out: list[DeadLetter] = []
        seen: set[str] = set()
        for priority, url in (await self._dlqs()).items():
            for _ in range(max(1, math.ceil(limit / 10)) + 1):
                got = await self._call(
                    "receive_message",
                    QueueUrl=url,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=0,
                    WaitTimeSeconds=0,
                    MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
                    MessageAttributeNames=["All"],
                )
                fresh = [m for m in got.get("Messages", []) if m["MessageId"] not in seen]
                if not fresh:
                    break
                for raw in fresh:
                    seen.add(raw["MessageId"])
                    out.append(parse_dead_letter(raw, priority))
        out.sort(key=lambda d: d.at)
        return out[:limit]

    async def depth(self) -> int:
        total = 0
        for url in self.urls.values():
            attrs = (
                await self._call(
                    "get_queue_attributes",
                    QueueUrl=url,
                    AttributeNames=[
                        "ApproximateNumberOfMessages",
                        "ApproximateNumberOfMessagesNotVisible",
                        "ApproximateNumberOfMessagesDelayed",
                    ],
                )
            )["Attributes"]
            total += sum(int(v) for v in attrs.values())
        return total

    # ---- helpers ----
    async def _visibility(self, msg: Message, seconds: float) -> bool:
        if not self._current(msg):
            return False
        try:
            await self._call(
                "change_message_visibility",
                QueueUrl=self.urls[msg.priority],
                ReceiptHandle=msg.receipt,
                VisibilityTimeout=min(MAX_VISIBILITY_S, max(0, math.ceil(seconds))),
            )
        except Exception as exc:  # the receipt expired (redelivered elsewhere) or the message is gone
            if error_code(exc) in ("ReceiptHandleIsInvalid", "InvalidParameterValue", "MessageNotInflight"):
                return False
            raise
        return True

    def _remember(self, msg: Message) -> Message:
        self._receipts[msg.id] = msg.receipt
        self._receipts.move_to_end(msg.id)
        while len(self._receipts) > 10000:
            self._receipts.popitem(last=False)
        return msg

    def _current(self, msg: Message) -> bool:
        newest = self._receipts.get(msg.id)
        return newest is None or newest == msg.receipt

    async def _dlqs(self) -> dict[str, str]:
        if self._dlq_urls is None:
            urls = {}
            for priority, url in self.urls.items():
                attrs = (await self._call("get_queue_attributes", QueueUrl=url, AttributeNames=["RedrivePolicy"]))[
                    "Attributes"
                ]
                target = json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"]
                _, _, _, _, account, name = target.split(":", 5)
                urls[priority] = (
                    await self._call("get_queue_url", QueueName=name, QueueOwnerAWSAccountId=account)
                )["QueueUrl"]
            self._dlq_urls = urls
        return self._dlq_urls


def from_config(cfg, store_cfg=None) -> SqsJobQueue:
    """Factory for runtime.queues.ADAPTERS (`jobs.queue.backend: sqs`), from the queue config's
    `options`: `interactive_url`, `batch_url` (required), `interactive_dlq_url`, `batch_dlq_url`,
    `endpoint_url`, `region`, `wait_time_s`. On Lambda, bootstrap fills them from the variables
    AsyncJobs sets. The store config is not used (SQLite's default path only)."""
    options = dict(getattr(cfg, "options", None) or {})
    for priority in PRIORITIES:
        if not options.get(f"{priority}_url"):
            raise ValueError(f"jobs.queue.options.{priority}_url: required for the sqs backend")
    dlqs = {p: options.get(f"{p}_dlq_url") for p in PRIORITIES}
    return SqsJobQueue(
        options["interactive_url"],
        options["batch_url"],
        endpoint_url=options.get("endpoint_url"),
        region=options.get("region"),
        wait_time_s=int(options.get("wait_time_s", 0)),
        dlq_urls=dlqs if all(dlqs.values()) else None,
        max_receives=cfg.max_receives,
    )


def parse_message(raw: dict, priority: str | None = None) -> Message:
    """A Message from an SQS ReceiveMessage entry or a Lambda SQS event record."""
    body = json.loads(raw.get("Body", raw.get("body", "{}")))
    attrs = raw.get("Attributes") or raw.get("attributes") or {}
    return Message(
        id=raw.get("MessageId") or raw["messageId"],
        job_id=body["job_id"],
        priority=body.get("priority") or priority or "interactive",
        receive_count=int(attrs.get("ApproximateReceiveCount", 1)),
        receipt=raw.get("ReceiptHandle") or raw["receiptHandle"],
        enqueued_at=int(attrs.get("SentTimestamp", time.time() * 1000)) / 1000,
    )


def parse_dead_letter(raw: dict, priority: str) -> DeadLetter:
    body = json.loads(raw["Body"])
    attrs = raw.get("MessageAttributes") or {}
    reason = attrs.get("reason", {}).get("StringValue")
    if reason is not None:
        count = int(attrs["receive_count"]["StringValue"])
        msg_id = attrs.get("message_id", {}).get("StringValue", raw["MessageId"])
    else:  # moved by the redrive policy: SQS kept its receive count; this peek added one
        count = max(1, int(raw["Attributes"]["ApproximateReceiveCount"]) - 1)
        reason, msg_id = "max_receives", raw["MessageId"]
    return DeadLetter(
        id=msg_id,
        job_id=body["job_id"],
        reason=reason,
        receive_count=count,
        at=int(raw["Attributes"].get("SentTimestamp", 0)) / 1000,
    )




class EventSourceDelivery(Delivery):
    """A message Lambda's SQS event source mapping delivered in a batch. Lambda deletes the records
    the handler reports as done and leaves its `batchItemFailures` for redelivery, so settling here
    records the answer (`done`) besides what SQS itself must do:
    - ack: done (Lambda deletes the message);
    - retry(delay): the message's visibility becomes the delay; not done (Lambda leaves it);
    - dead_letter: copied to the DLQ and deleted here; done;
    - extend: the visibility is extended; the answer is still open.
    """

    __slots__ = ("queue", "done")

    def __init__(self, queue: SqsJobQueue, record: dict):
        super().__init__(parse_message(record), queue.max_receives)
        self.queue = queue
        self.done: bool | None = None  # None: not settled (a crash), reported as a failure

    async def ack(self) -> bool:
        self.done = True
        return True

    async def retry(self, delay_s: float = 0.0) -> bool:
        self.done = False
        return await self.queue.nack(self.message, delay_s)

    async def extend(self, seconds: float) -> bool:
        return await self.queue.extend(self.message, seconds)

    async def dead_letter(self, reason: str) -> bool:
        ok = await self.queue.dead_letter(self.message, reason)
        self.done = ok
        return ok
