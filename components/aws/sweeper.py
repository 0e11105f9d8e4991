"""The worker's schedules: Lambda has no long-lived worker loop, so an EventBridge rule invokes the
worker with an event it recognises: SWEEP_EVENT (it calls `Sweeper.sweep_once()`: PENDING jobs without
a message are re-enqueued) or BATCH_EVENT (one `Batcher.tick()`: provider batch jobs formed, submitted,
polled, applied) or a keep-alive event (it pings the listed model deployments). Only each rule may
invoke the function this way, through its `live` alias when it has one (warm_pool.py)."""

import json

import pulumi
import pulumi_aws as aws

from skyrelay.components.aws.statements import invoke_permission
from skyrelay.deployment import BATCH_EVENT, KEEPALIVE_SCHEDULE, SWEEP_EVENT, keepalive_event


def sweeper(
    owner: pulumi.Resource, name: str, schedule: str, worker: aws.lambda_.Function, alias: aws.lambda_.Alias | None = None
) -> tuple[aws.cloudwatch.EventRule, aws.lambda_.Permission, aws.cloudwatch.EventTarget]:
    return scheduled_event(owner, f"{name}-sweeper", schedule, worker, SWEEP_EVENT,
                           "skyrelay: re-enqueue PENDING jobs that lost their queue message", alias)


def batcher(
    owner: pulumi.Resource, name: str, schedule: str, worker: aws.lambda_.Function, alias: aws.lambda_.Alias | None = None
) -> tuple[aws.cloudwatch.EventRule, aws.lambda_.Permission, aws.cloudwatch.EventTarget]:
    return scheduled_event(owner, f"{name}-batcher", schedule, worker, BATCH_EVENT,
                           "skyrelay: form, submit and poll provider batch jobs", alias)


def keep_alive(
    owner: pulumi.Resource, name: str, worker: aws.lambda_.Function, alias: aws.lambda_.Alias | None,
    deployments: list[str],
) -> tuple[aws.cloudwatch.EventRule, aws.lambda_.Permission, aws.cloudwatch.EventTarget]:
    """Model keep-alive (the seed's cold-start section): every 5 minutes the worker sends each listed
    deployment a one-token request, so an endpoint with a model-load cold start stays loaded."""
    return scheduled_event(owner, f"{name}-keepalive", KEEPALIVE_SCHEDULE, worker, keepalive_event(deployments),
                           "skyrelay: keep the listed model deployments warm", alias)


def scheduled_event(
    owner: pulumi.Resource, name: str, schedule: str, worker: aws.lambda_.Function, event: dict, description: str,
    alias: aws.lambda_.Alias | None = None,
) -> tuple[aws.cloudwatch.EventRule, aws.lambda_.Permission, aws.cloudwatch.EventTarget]:
    child = pulumi.ResourceOptions(parent=owner)
    rule = aws.cloudwatch.EventRule(
        name,
        description=description,
        schedule_expression=schedule,
        opts=child,
    )
    permission = invoke_permission(owner, name, worker, "events.amazonaws.com", rule.arn,
                                   alias.name if alias is not None else None)
    target = aws.cloudwatch.EventTarget(
        name,
        rule=rule.name,
        arn=alias.arn if alias is not None else worker.arn,
        input=json.dumps(event),
        retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(maximum_retry_attempts=0,
                                                             maximum_event_age_in_seconds=60),
        opts=pulumi.ResourceOptions(parent=owner, depends_on=[permission]),
    )
    return rule, permission, target
