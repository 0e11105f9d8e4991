"""API keys and usage plans of JobsApi: one usage plan per tier (throttle and monthly quota from the
core tier table, so the edge enforces the runtime limiter's numbers), keys as `<tier>:<name>`, and
the keys' sha256 added to the runtime's router config so the runtime accepts the generated keys."""

import hashlib
import json
from collections.abc import Sequence
from typing import Any, TypedDict

import pulumi
import pulumi_aws as aws

from skyrelay.errors import ConfigError
from skyrelay.tiers import default_tiers

SECONDS_PER_MINUTE = 60


class TierLimits(TypedDict):
    name: str
    """Tier name (free, developer, professional, enterprise)."""
    rpm: int
    """Requests per minute per API key."""
    monthly_request_quota: int
    """Requests per API key per month."""


def tier_limits_from_table(tiers=None) -> list[TierLimits]:
    """TierLimits for each tier of a tier table (default: the core table)."""
    table = tiers if tiers is not None else default_tiers()
    return [
        {"name": str(t.name.value if hasattr(t.name, "value") else t.name), "rpm": t.rpm,
         "monthly_request_quota": t.monthly_request_quota}
        for t in table.values()
    ]


def with_key_hashes(router_config: str, keys) -> str:
    """`router_config` (JSON) with the sha256 hex of each `(tier, key value)` added to the API keys
    of the tenant named after the tier (created when missing). The runtime stores keys only as
    sha256 digests; a digest of a generated, high-entropy key cannot be reversed."""
    doc = json.loads(router_config)
    tenants = doc.setdefault("tenants", [])
    for tier, value in keys:
        tenant = next((t for t in tenants if t.get("name") == tier), None)
        if tenant is None:
            tenant = {"name": tier, "tier": tier}
            tenants.append(tenant)
        digest = hashlib.sha256(value.encode()).hexdigest()
        if digest not in tenant.setdefault("api_keys", []):
            tenant["api_keys"].append(digest)
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


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


def parse_api_keys(api_keys: Sequence[str], tier_names: list[str]) -> list[tuple[str, str]]:
    """`<tier>:<name>` entries as (tier, name) pairs; ConfigError for an unknown tier or no name."""
    parsed = []
    for key in api_keys:
        tier, _, key_name = key.partition(":")
        if tier not in tier_names or not key_name:
            raise ConfigError("JobsApi.api_keys", f"{key!r}: expected `<tier>:<name>` with tier one of {tier_names}")
        parsed.append((tier, key_name))
    return parsed


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
