"""API keys and usage plans of JobsApi: one usage plan per tier (throttle and monthly quota from the
core tier table, so the edge enforces the runtime limiter's numbers) and one API Gateway key per
`<tier>:<name>`. Parsing those specs, the tier table's limits and the keys' sha256 added to the
runtime's router config are every cloud's (components/api_common.py)."""

from typing import Any

import pulumi
import pulumi_aws as aws

from skyrelay.components.api_common import (
    TierLimits,  # with the key specs and digests, shared with the other clouds
)

SECONDS_PER_MINUTE = 60


def usage_plan_limits(tier: TierLimits) -> dict[str, Any]:
    """Usage plan throttle and quota for a tier: steady rate = RPM / 60 per second, burst = one
    minute's worth (at least 1), quota = the monthly request quota."""
    rpm = tier["rpm"]
    return {
        "rate_limit": round(rpm / SECONDS_PER_MINUTE, 4),
        "burst_limit": max(1, rpm),
        "quota_limit": tier["monthly_request_quota"],
        "quota_period": "MONTH",
    }


def api_keys(owner: pulumi.Resource, name: str,
             keys: list[tuple[str, str]]) -> dict[str, tuple[str, aws.apigateway.ApiKey]]:
    """One enabled API key per (tier, name), by key name with its tier."""
    created = {}
    for tier, key_name in keys:
        created[key_name] = (tier, aws.apigateway.ApiKey(
            f"{name}-key-{key_name}",
            name=f"{pulumi.get_stack()}-{name}-{key_name}",
            description=f"{tier} tier key",
            enabled=True,
            opts=pulumi.ResourceOptions(parent=owner),
        ))
    return created


def usage_plans(owner: pulumi.Resource, name: str, tiers: list[TierLimits], rest_api: aws.apigateway.RestApi,
                stage: aws.apigateway.Stage) -> dict[str, aws.apigateway.UsagePlan]:
    plans = {}
    for tier in tiers:
        limits = usage_plan_limits(tier)
        plans[tier["name"]] = aws.apigateway.UsagePlan(
            f"{name}-{tier['name']}",
            name=f"{pulumi.get_stack()}-{name}-{tier['name']}",
            description=f"{tier['name']} tier: {tier['rpm']} RPM, {tier['monthly_request_quota']:,} requests/month",
            api_stages=[aws.apigateway.UsagePlanApiStageArgs(api_id=rest_api.id, stage=stage.stage_name)],
            throttle_settings=aws.apigateway.UsagePlanThrottleSettingsArgs(
                rate_limit=limits["rate_limit"], burst_limit=limits["burst_limit"]
            ),
            quota_settings=aws.apigateway.UsagePlanQuotaSettingsArgs(
                limit=limits["quota_limit"], period=limits["quota_period"]
            ),
            opts=pulumi.ResourceOptions(parent=owner),
        )
    return plans


def usage_plan_keys(owner: pulumi.Resource, name: str, keys: dict[str, tuple[str, aws.apigateway.ApiKey]],
                    plans: dict[str, aws.apigateway.UsagePlan]) -> list[aws.apigateway.UsagePlanKey]:
    """Each key joins its tier's usage plan."""
    return [
        aws.apigateway.UsagePlanKey(
            f"{name}-key-{key_name}",
            key_id=api_key.id,
            key_type="API_KEY",
            usage_plan_id=plans[tier].id,
            opts=pulumi.ResourceOptions(parent=owner),
        )
        for key_name, (tier, api_key) in keys.items()
    ]
