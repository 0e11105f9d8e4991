"""The moto server of the test session (tests/peers.py starts it once) and AWS helpers over it.
Each user makes uniquely named queues/tables, so tests share the server without a reset."""

import uuid

from tests import peers


def endpoint() -> str:
    """The moto server's URL; a missing moto[server] fails the test (tests/peers.py)."""
    return peers.moto()


def client(service: str):
    import boto3

    return boto3.client(
        service, endpoint_url=endpoint(), region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def make_queues(max_receives: int = 5, visibility_s: int = 30) -> dict[str, str]:
    """An interactive and a batch queue, each with its own DLQ and redrive policy, as AsyncJobs
    deploys them. Returns their URLs: interactive, batch, interactive_dlq, batch_dlq."""
    import json

    sqs = client("sqs")
    urls = {}
    for priority in ("interactive", "batch"):
        name = unique(f"jobs-{priority}")
        dlq = sqs.create_queue(QueueName=f"{name}-dlq", Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives})
        urls[priority] = sqs.create_queue(
            QueueName=name, Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": str(visibility_s)}
        )["QueueUrl"]
        urls[f"{priority}_dlq"] = dlq
    return urls
