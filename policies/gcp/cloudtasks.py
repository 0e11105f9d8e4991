"""Cloud Tasks: an explicit, bounded retry config (GCP has no DLQ: the worker marks FAILED itself), and
HTTP targets (queues and the Cloud Scheduler jobs that push to the worker) that carry an OIDC token."""

from pulumi_policy import Severity

from skyrelay.policies.props import get, number
from skyrelay.policies.rule import Rule, resource_policy

QUEUE = "gcp:cloudtasks/queue:Queue"
SCHEDULER_JOB = "gcp:cloudscheduler/job:Job"

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


OIDC = Rule(
    id="gcp-tasks-oidc",
    description="Cloud Tasks queues and Cloud Scheduler jobs push over HTTP with an OIDC token of a service account.",
    severity=Severity.CRITICAL,
    cloud="gcp",
    remediation=(
        "Give the queue an `http_target` with `oidc_token={service_account_email, audience}` (and Scheduler jobs an "
        "`http_target.oidc_token`): the worker is private and admits only that account's tokens."
    ),
)


def check_oidc(args):
    target = get(args.props, "httpTarget")
    if args.resource_type == QUEUE and not target:
        yield "no httpTarget: tasks may name any URL and arrive without a token"
        return
    if args.resource_type == SCHEDULER_JOB and not target:
        return  # a Pub/Sub or App Engine target has no HTTP push
    if not get(target, "oidcToken.serviceAccountEmail"):
        yield "httpTarget has no oidcToken with a serviceAccountEmail: pushes arrive unsigned"


POLICIES = [resource_policy(RETRY, check, [QUEUE]), resource_policy(OIDC, check_oidc, [QUEUE, SCHEDULER_JOB])]
