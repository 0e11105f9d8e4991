"""Warm pools for a Lambda function: a published version, the `live` alias, and optionally
provisioned concurrency on that alias with Application Auto Scaling target tracking.

The seed's cold-start section: provisioned concurrency keeps initialised execution environments
ready, but it applies only to a published version or an alias, never to $LATEST. So every skyrelay
function publishes a version on each code or config change and has an alias, `live`, that the
callers use (the SQS event source mappings, the EventBridge schedules, the API Gateway integration
and their invoke permissions); `provisioned` > 0 adds a ProvisionedConcurrencyConfig on the alias,
and `autoscaling_max` adds a scalable target (min = `provisioned`) with a target-tracking policy on
`LambdaProvisionedConcurrencyUtilization`. The knob is `warmPool` in the stack config, the same
name the Azure (Flex `alwaysReady`) and GCP (Cloud Run min instances) blueprints expose.
"""

from dataclasses import dataclass
from typing import TypedDict

import pulumi
import pulumi_aws as aws

ALIAS = "live"
UTILIZATION_METRIC = "LambdaProvisionedConcurrencyUtilization"
SCALABLE_DIMENSION = "lambda:function:ProvisionedConcurrency"


class WarmPoolArgs(TypedDict, total=False):
    """A function's warm pool on its `live` alias: provisioned concurrency, optionally autoscaled."""

    provisioned: int
    """Provisioned concurrent executions on the alias (default 0: none, on-demand only)."""
    autoscaling_max: int
    """With `provisioned` > 0: scale provisioned concurrency between it and this (default: no scaling)."""
    target_utilization: float
    """The target-tracking value, a fraction of provisioned concurrency in use (default 0.7)."""


@dataclass
class WarmPool:
    alias: aws.lambda_.Alias
    provisioned: aws.lambda_.ProvisionedConcurrencyConfig | None = None
    scaling_target: aws.appautoscaling.Target | None = None
    scaling_policy: aws.appautoscaling.Policy | None = None


def check_warm_pool(key: str, args: WarmPoolArgs | None, reserved: int | None) -> WarmPoolArgs:
    """Rejects a pool that AWS would refuse at deploy time, naming `key`."""
    from skyrelay.errors import ConfigError

    args = dict(args or {})
    provisioned = args.get("provisioned", 0)
    if provisioned < 0:
        raise ConfigError(f"{key}.provisioned", "must be >= 0")
    top = args.get("autoscaling_max")
    if top is not None and (provisioned < 1 or top < provisioned):
        raise ConfigError(f"{key}.autoscalingMax", "needs provisioned >= 1 and must be >= provisioned")
    if reserved is not None and max(provisioned, top or 0) > reserved:
        raise ConfigError(f"{key}.provisioned", f"over the function's reserved concurrency ({reserved}): "
                          "Lambda refuses provisioned concurrency above it")
    if not 0 < args.get("target_utilization", 0.7) <= 0.9:
        raise ConfigError(f"{key}.targetUtilization", "must lie in (0, 0.9]")
    return args


def warm_pool(owner: pulumi.Resource, name: str, function: aws.lambda_.Function, args: WarmPoolArgs) -> WarmPool:
    child = pulumi.ResourceOptions(parent=owner)
    alias = aws.lambda_.Alias(
        name,
        name=ALIAS,
        description="skyrelay: the published version its callers invoke (warm pools apply here)",
        function_name=function.name,
        function_version=function.version,
        opts=child,
    )
    pool = WarmPool(alias=alias)
    provisioned = args.get("provisioned", 0)
    if provisioned < 1:
        return pool
    pool.provisioned = aws.lambda_.ProvisionedConcurrencyConfig(
        name,
        function_name=function.name,
        qualifier=alias.name,
        provisioned_concurrent_executions=provisioned,
        opts=child,
    )
    top = args.get("autoscaling_max")
    if top is None:
        return pool
    resource_id = pulumi.Output.all(function.name, alias.name).apply(lambda a: f"function:{a[0]}:{a[1]}")
    pool.scaling_target = aws.appautoscaling.Target(
        name,
        service_namespace="lambda",
        scalable_dimension=SCALABLE_DIMENSION,
        resource_id=resource_id,
        min_capacity=provisioned,
        max_capacity=top,
        opts=pulumi.ResourceOptions(parent=owner, depends_on=[pool.provisioned]),
    )
    pool.scaling_policy = aws.appautoscaling.Policy(
        name,
        policy_type="TargetTrackingScaling",
        service_namespace=pool.scaling_target.service_namespace,
        scalable_dimension=pool.scaling_target.scalable_dimension,
        resource_id=pool.scaling_target.resource_id,
        target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
            target_value=args.get("target_utilization", 0.7),
            predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                predefined_metric_type=UTILIZATION_METRIC,
            ),
        ),
        opts=child,
    )
    return pool
