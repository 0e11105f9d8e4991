"""WorkQueue: one SQS job queue with its own dead-letter queue, encrypted, TLS-only.

The visibility timeout is computed, never guessed: at least `visibility_timeout_factor` (6) x the
consumer's timeout + its batching window, so a message is not redelivered while a worker still
holds it (AWS Lambda SQS guidance; getlift/lift is the only library that enforces it).
"""

import json
from typing import Any, Required, TypedDict

import pulumi
import pulumi_aws as aws

from skyrelay.components.async_jobs import check_retention, check_worker_timeout, redelivery_after
from skyrelay.components.aws.defaults import ASYNC_JOBS
from skyrelay.components.defaults import resolve
from skyrelay.errors import ConfigError

SQS_MAX_VISIBILITY = 43200
SQS_MAX_RETENTION = 1209600


class WorkQueueArgs(TypedDict, total=False):
    consumer_timeout_seconds: Required[int]
    """Timeout of the function that consumes the queue (required, 1-900)."""
    batching_window_seconds: int
    """Batching window of the event source mapping (default 0)."""
    retention_seconds: int
    """How long a job message is kept (default 4 days; at least the consumer timeout)."""
    kms_key_arn: pulumi.Input[str]
    """Encrypt with this customer KMS key (SSE-KMS) instead of SSE-SQS (the default)."""
    overrides: dict[str, Any]
    """Changes to the AsyncJobs defaults table (see the component README)."""


def visibility_timeout(consumer_timeout_seconds: int, batching_window_seconds: int, factor: int = 6) -> int:
    """The shared redelivery rule (components/async_jobs.py), capped at the SQS maximum (12 h)."""
    return min(SQS_MAX_VISIBILITY, redelivery_after(consumer_timeout_seconds, factor, batching_window_seconds))


class WorkQueue(pulumi.ComponentResource):
    """A job queue and its DLQ. Children: `queue`, `dlq`, `queue_policy`, `dlq_policy`."""

    queue: aws.sqs.Queue
    """The job queue (encrypted, TLS-only, redrive to `dlq`)."""
    dlq: aws.sqs.Queue
    """The queue's dead-letter queue (14 days' retention)."""

    def __init__(self, name: str, args: WorkQueueArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("skyrelay:aws:WorkQueue", name, None, opts)
        settings = resolve("WorkQueue", ASYNC_JOBS, args.get("overrides"))
        timeout = check_worker_timeout(f"{name}.consumer_timeout_seconds", args.get("consumer_timeout_seconds"), 900,
                                       "Lambda maximum")
        window = args.get("batching_window_seconds", 0)
        retention = check_retention(f"{name}.retention_seconds", args.get("retention_seconds", 345600), timeout,
                        "the consumer timeout")
        self.visibility_timeout_seconds = visibility_timeout(timeout, window, settings["visibility_timeout_factor"])
        if self.visibility_timeout_seconds < redelivery_after(timeout, 6, window):
            raise ConfigError(
                f"{name}.consumer_timeout_seconds",
                f"6 x {timeout} + {window} exceeds the SQS visibility maximum of {SQS_MAX_VISIBILITY}",
            )
        kms = args.get("kms_key_arn")
        encryption: dict[str, Any] = {}
        if kms is not None:
            encryption = {"kms_master_key_id": kms, "kms_data_key_reuse_period_seconds": 300}
        elif settings["queue_sse"]:
            encryption = {"sqs_managed_sse_enabled": True}
        child = pulumi.ResourceOptions(parent=self)

        self.dlq = aws.sqs.Queue(
            f"{name}-dlq",
            message_retention_seconds=settings["dlq_retention_seconds"],
            receive_wait_time_seconds=settings["receive_wait_time_seconds"],
            **encryption,
            opts=child,
        )
        self.queue = aws.sqs.Queue(
            name,
            visibility_timeout_seconds=self.visibility_timeout_seconds,
            message_retention_seconds=retention,
            receive_wait_time_seconds=settings["receive_wait_time_seconds"],
            redrive_policy=self.dlq.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": settings["max_receive_count"]})
            ),
            **encryption,
            opts=child,
        )
        self.max_receive_count = settings["max_receive_count"]
        self.dlq_redrive_allow = None
        if settings["dlq_redrive_allow_by_queue"]:
            self.dlq_redrive_allow = aws.sqs.RedriveAllowPolicy(
                f"{name}-dlq",
                queue_url=self.dlq.url,
                redrive_allow_policy=self.queue.arn.apply(
                    lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
                ),
                opts=child,
            )
        caller = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self))
        tls_only = settings["queue_tls_only"]
        self.queue_policy = aws.sqs.QueuePolicy(
            name,
            queue_url=self.queue.url,
            policy=pulumi.Output.all(self.queue.arn, caller.account_id).apply(
                lambda a: queue_policy(a[0], a[1], tls_only)
            ),
            opts=child,
        )
        self.dlq_policy = aws.sqs.QueuePolicy(
            f"{name}-dlq",
            queue_url=self.dlq.url,
            policy=pulumi.Output.all(self.dlq.arn, caller.account_id).apply(
                lambda a: queue_policy(a[0], a[1], tls_only)
            ),
            opts=child,
        )
        self.register_outputs(
            {
                "queue_arn": self.queue.arn,
                "queue_url": self.queue.url,
                "dlq_arn": self.dlq.arn,
                "dlq_url": self.dlq.url,
                "visibility_timeout_seconds": self.visibility_timeout_seconds,
            }
        )


def queue_policy(queue_arn: str, account_id: str, tls_only: bool) -> str:
    """Owner-only access (SC applySecureQueuePolicy), and no request without TLS."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "OwnerOnly",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": [
                "sqs:SendMessage",
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
            ],
            "Resource": queue_arn,
        }
    ]
    if tls_only:
        statements.append(
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": queue_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
