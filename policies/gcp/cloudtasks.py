"""Cloud Tasks: an explicit, bounded retry config (GCP has no DLQ: the worker marks FAILED itself)."""

from pulumi_policy import Severity

from skyrelay.policies.props import get, number
from skyrelay.policies.rule import Rule, resource_policy

QUEUE = "gcp:cloudtasks/queue:Queue"

RETRY = Rule(
    id="gcp-cloudtasks-retry-config",
    description="Cloud Tasks queues set an explicit retry config with a bounded maxAttempts.",
    severity=Severity.HIGH,
    cloud="gcp",
    remediation=(
        'Set `retry_config={"max_attempts": 5, "min_backoff": "1s", "max_backoff": "60s"}`; the worker marks '
        "the job FAILED on the last attempt, since Cloud Tasks has no dead-letter queue."
    ),
)


def check(args):
    attempts = number(get(args.props, "retryConfig.maxAttempts"))
    if attempts is None:
        yield "retryConfig.maxAttempts is not set (the default retries for the task's whole lifetime)"
    elif attempts < 1:
        yield f"retryConfig.maxAttempts is {attempts:g} (unlimited)"


POLICIES = [resource_policy(RETRY, check, [QUEUE])]
