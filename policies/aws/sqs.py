"""SQS: encryption, a dead-letter queue, a TLS-only queue policy, and a visibility timeout that
outlasts the consuming Lambda (the last three follow the resource graph, so they are stack rules)."""

from collections.abc import Mapping

from pulumi_policy import Severity

from skyrelay.policies import config
from skyrelay.policies.props import Graph, as_json, as_list, get, number, of_type, truthy
from skyrelay.policies.rule import Rule, resource_policy, stack_policy

QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
REDRIVE_POLICY = "aws:sqs/redrivePolicy:RedrivePolicy"
ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
FUNCTION = "aws:lambda/function:Function"

ENCRYPTION = Rule(
    id="aws-sqs-encryption",
    description="SQS queues are encrypted at rest (SSE-SQS or KMS).",
    severity=Severity.HIGH,
    checkov=("CKV_AWS_27",),
    cloud="aws",
    remediation="Set `sqs_managed_sse_enabled=True`, or `kms_master_key_id` to a KMS key for a customer-managed key.",
)
DLQ = Rule(
    id="aws-sqs-dlq",
    description="Every SQS queue that is not itself a dead-letter queue has a redrive policy to a DLQ.",
    severity=Severity.HIGH,
    cloud="aws",
    kind="stack",
    remediation=(
        "Create a second queue as the DLQ and set `redrive_policy` to "
        '`{"deadLetterTargetArn": dlq.arn, "maxReceiveCount": N}` (or an `aws.sqs.RedrivePolicy`).'
    ),
)
TLS_ONLY = Rule(
    id="aws-sqs-tls-only",
    description="Every SQS queue has a policy that denies requests not sent over TLS.",
    severity=Severity.HIGH,
    cloud="aws",
    kind="stack",
    remediation=(
        "Attach a queue policy (inline `policy` or `aws.sqs.QueuePolicy`) with a statement "
        '`{"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": queue.arn, '
        '"Condition": {"Bool": {"aws:SecureTransport": "false"}}}`.'
    ),
)
VISIBILITY = Rule(
    id="aws-sqs-visibility-timeout",
    description="A queue's visibility timeout is at least 6x the timeout of the Lambda that consumes it.",
    severity=Severity.HIGH,
    cloud="aws",
    kind="stack",
    config=("minVisibilityMultiple",),
    remediation=(
        "Raise the queue's `visibility_timeout_seconds` to at least 6 x the function's `timeout` (plus the "
        "batching window), or lower the function timeout; otherwise messages reappear while still in flight "
        "and are processed twice."
    ),
)


def check_encryption(args):
    props = args.props
    if truthy(get(props, "sqsManagedSseEnabled")) or get(props, "kmsMasterKeyId"):
        return
    yield "neither `sqsManagedSseEnabled` nor `kmsMasterKeyId` is set"


def _redrive_target(resource) -> str | None:
    doc = as_json(get(resource.props, "redrivePolicy"))
    return (doc.get("deadLetterTargetArn") or None) if isinstance(doc, Mapping) else None


def check_dlq(args):
    graph = Graph.of(args.resources, QUEUE)
    queues = of_type(args.resources, QUEUE)
    has_dlq, dlqs = set(), set()
    for source in [*queues, *of_type(args.resources, REDRIVE_POLICY)]:
        target = _redrive_target(source)
        if not target:
            continue
        dlqs.update(q.urn for q in graph.targets(source, "redrivePolicy", target, [QUEUE]))
        if source.resource_type == QUEUE:
            has_dlq.add(source.urn)
        else:
            has_dlq.update(q.urn for q in graph.targets(source, "queueUrl", get(source.props, "queueUrl"), [QUEUE]))
    for queue in queues:
        if queue.urn not in has_dlq and queue.urn not in dlqs and not get(queue.props, "redriveAllowPolicy"):
            yield "queue has no redrive policy to a dead-letter queue", queue.urn


def denies_plain_http(policy) -> bool:
    doc = as_json(policy)
    if not isinstance(doc, Mapping):
        return False
    for st in as_list(doc.get("Statement")):
        if not isinstance(st, Mapping) or st.get("Effect") != "Deny":
            continue
        for operator in ("Bool", "BoolIfExists"):
            cond = get(st, f"Condition.{operator}", {})
            for value in as_list(cond.get("aws:SecureTransport") if isinstance(cond, Mapping) else None):
                if str(value).lower() == "false":
                    return True
    return False


def check_tls(args):
    graph = Graph.of(args.resources, QUEUE)
    protected = set()
    for policy in of_type(args.resources, QUEUE_POLICY):
        if denies_plain_http(get(policy.props, "policy")):
            protected.update(q.urn for q in graph.targets(policy, "queueUrl", get(policy.props, "queueUrl"), [QUEUE]))
    for queue in of_type(args.resources, QUEUE):
        if queue.urn not in protected and not denies_plain_http(get(queue.props, "policy")):
            yield "no queue policy denies aws:SecureTransport=false", queue.urn


def check_visibility(args):
    multiple = number(config.value(args.get_config(), "minVisibilityMultiple"), 6)
    graph = Graph.of(args.resources, QUEUE, FUNCTION)
    for mapping in of_type(args.resources, ESM):
        queues = graph.targets(mapping, "eventSourceArn", get(mapping.props, "eventSourceArn"), [QUEUE])
        functions = graph.targets(mapping, "functionName", get(mapping.props, "functionName"), [FUNCTION])
        if not queues or not functions:
            continue
        queue, function = queues[0], functions[0]
        visibility = number(get(queue.props, "visibilityTimeoutSeconds"), 30)
        timeout = number(get(function.props, "timeout"), 3)
        if visibility < multiple * timeout:
            yield (
                f"visibility timeout {visibility:g}s < {multiple:g} x {timeout:g}s timeout of {function.name}",
                queue.urn,
            )


POLICIES = [
    resource_policy(ENCRYPTION, check_encryption, [QUEUE]),
    stack_policy(DLQ, check_dlq),
    stack_policy(TLS_ONLY, check_tls),
    stack_policy(VISIBILITY, check_visibility),
]
