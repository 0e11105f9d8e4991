"""The sweeper schedule: Lambda has no long-lived worker loop, so an EventBridge rule invokes the
worker with SWEEP_EVENT and it calls `Sweeper.sweep_once()` (PENDING jobs without a message are
re-enqueued). Only this rule may invoke the function this way."""

import json

import pulumi
import pulumi_aws as aws

from skyrelay.components.aws.statements import invoke_permission
from skyrelay.deployment import SWEEP_EVENT


def sweeper(
    owner: pulumi.Resource, name: str, schedule: str, worker: aws.lambda_.Function
) -> tuple[aws.cloudwatch.EventRule, aws.lambda_.Permission, aws.cloudwatch.EventTarget]:
    child = pulumi.ResourceOptions(parent=owner)
    rule = aws.cloudwatch.EventRule(
        f"{name}-sweeper",
        description="skyrelay: re-enqueue PENDING jobs that lost their queue message",
        schedule_expression=schedule,
        opts=child,
    )
    permission = invoke_permission(owner, f"{name}-sweeper", worker, "events.amazonaws.com", rule.arn)
    target = aws.cloudwatch.EventTarget(
        f"{name}-sweeper",
        rule=rule.name,
        arn=worker.arn,
        input=json.dumps(SWEEP_EVENT),
        retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(maximum_retry_attempts=0,
                                                             maximum_event_age_in_seconds=60),
        opts=pulumi.ResourceOptions(parent=owner, depends_on=[permission]),
    )
    return rule, permission, target
