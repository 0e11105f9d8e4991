"""The worker's schedules: Lambda has no long-lived worker loop, so an EventBridge rule invokes the
worker with an event it recognises: SWEEP_EVENT (it calls `Sweeper.sweep_once()`: PENDING jobs without
a message are re-enqueued) or BATCH_EVENT (one `Batcher.tick()`: provider batch jobs formed, submitted,
polled, applied). Only each rule may invoke the function this way."""

import json

import pulumi
import pulumi_aws as aws

from skyrelay.components.aws.statements import invoke_permission
from skyrelay.deployment import BATCH_EVENT, SWEEP_EVENT


def sweeper(
    owner: pulumi.Resource, name: str, schedule: str, worker: aws.lambda_.Function
) -> tuple[aws.cloudwatch.EventRule, aws.lambda_.Permission, aws.cloudwatch.EventTarget]:
    return scheduled_event(owner, f"{name}-sweeper", schedule, worker, SWEEP_EVENT,
                           "skyrelay: re-enqueue PENDING jobs that lost their queue message")


def batcher(
    owner: pulumi.Resource, name: str, schedule: str, worker: aws.lambda_.Function
) -> tuple[aws.cloudwatch.EventRule, aws.lambda_.Permission, aws.cloudwatch.EventTarget]:
    return scheduled_event(owner, f"{name}-batcher", schedule, worker, BATCH_EVENT,
                           "skyrelay: form, submit and poll provider batch jobs")


def scheduled_event(
    owner: pulumi.Resource, name: str, schedule: str, worker: aws.lambda_.Function, event: dict, description: str
) -> tuple[aws.cloudwatch.EventRule, aws.lambda_.Permission, aws.cloudwatch.EventTarget]:
    child = pulumi.ResourceOptions(parent=owner)
    rule = aws.cloudwatch.EventRule(
        name,
        description=description,
        schedule_expression=schedule,
        opts=child,
    )
    permission = invoke_permission(owner, name, worker, "events.amazonaws.com", rule.arn)
    target = aws.cloudwatch.EventTarget(
        name,
        rule=rule.name,
        arn=worker.arn,
        input=json.dumps(event),
        retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(maximum_retry_attempts=0,
                                                             maximum_event_age_in_seconds=60),
        opts=pulumi.ResourceOptions(parent=owner, depends_on=[permission]),
    )
    return rule, permission, target
