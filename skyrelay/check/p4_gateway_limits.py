"""Point 4, rate limiting at the gateway layer: edge quotas exist and match the tier table.

The row logic is one: each offered tier (TIERS, the core table with the stack's overrides) needs an
edge quota attached to the API, whose per-minute rate is the tier's RPM and whose monthly quota is
the tier's `monthly_request_quota`, with at least one key in it. Each cloud only maps its resources
to `EdgeQuota`s:
- AWS: an API Gateway usage plan per tier (rate RPM/60 per second, burst RPM, quota per MONTH),
  attached to a stage, with its API keys;
- Azure: an APIM product per tier with its policy (`rate-limit` calls per 60 s, `quota` calls per
  30 days), the API in the product, and a subscription (the key) on it;
- GCP: API Gateway quotas exist only per minute and per consumer project, so no per-tier quota can
  be expressed: the gateway's ceiling (the largest tier RPM, every operation costing it) is checked
  and the row warns that the tiers are enforced by the runtime limiter alone.
The runtime limiter enforces the same numbers; the edge makes abuse cost nothing.
"""

import base64
import json
import re
from dataclasses import dataclass, field

from skyrelay.check.model import Row, judged
from skyrelay.check.subject import Subject

TITLE = "Rate limiting at the gateway layer"
USAGE_PLAN = "aws:apigateway/usagePlan:UsagePlan"
USAGE_PLAN_KEY = "aws:apigateway/usagePlanKey:UsagePlanKey"
APIM_PRODUCT = "azure-native:apimanagement:Product"
APIM_PRODUCT_POLICY = "azure-native:apimanagement:ProductPolicy"
APIM_PRODUCT_API = "azure-native:apimanagement:ProductApi"
APIM_SUBSCRIPTION = "azure-native:apimanagement:Subscription"
GCP_API_CONFIG = "gcp:apigateway/apiConfig:ApiConfig"
GCP_API_KEY = "gcp:projects/apiKey:ApiKey"
MONTH_S = 30 * 24 * 3600  # APIM's quota renewal period for a month
FIX = {
    "aws": "create one usage plan per tier from the tier table (JobsApi `tiers`), attached to the stage, with its API keys",
    "azure": "create one APIM product per tier from the tier table (JobsApi `tiers`) with its rate-limit and quota "
             "policy, the API in it, and a subscription",
    "gcp": "keep the gateway's quota (x-google-management) at the largest tier RPM, charged by every operation",
}


@dataclass
class EdgeQuota:
    """One tier's quota at the edge, as the cloud's resources state it."""

    resource: str
    rpm: float | None  # requests per minute the edge lets through
    monthly: int | None  # requests per month
    attached: bool  # applies to the deployed API
    keyed: bool  # at least one key / subscription is in it
    wrong: list[str] = field(default_factory=list)  # cloud-specific shape problems (burst, period)


def check(subject: Subject) -> Row:
    fix = FIX.get(subject.cloud, FIX["aws"])
    if subject.cloud not in FIX:
        return judged(4, TITLE, [f"no gateway quota rule for {subject.cloud}"], [], fix)
    if not subject.tiers:
        return judged(4, TITLE, ["no tier table (TIERS) on the runtime: cannot tell what the edge should enforce"],
                      [], fix)
    if subject.cloud == "gcp":
        return _gcp(subject, fix)
    quotas = _aws(subject) if subject.cloud == "aws" else _azure(subject)
    problems, evidence = [], []
    for tier, values in sorted(subject.tiers.items()):
        q = quotas.get(tier)
        if q is None:
            problems.append(f"tier {tier}: no edge quota ({'usage plan' if subject.cloud == 'aws' else 'APIM product'})")
            continue
        rpm, monthly = values["rpm"], values["monthly_request_quota"]
        wrong = list(q.wrong)
        if q.rpm is None or abs(q.rpm - rpm) > 0.01:
            wrong.append(f"rate {q.rpm} requests/minute != {rpm}")
        if q.monthly != monthly:
            wrong.append(f"monthly quota {q.monthly} != {monthly}")
        if not q.attached:
            wrong.append("attached to no API stage")
        if not q.keyed:
            wrong.append("no API key in it")
        if wrong:
            problems.append(f"tier {tier} {q.resource}: {'; '.join(wrong)}")
        else:
            evidence.append(f"tier {tier}: {q.resource}, {rpm} RPM, quota {monthly:,}/month")
    if quotas and not any(q.keyed for q in quotas.values()):
        problems.append("no API key is in any edge quota")
    return judged(4, TITLE, problems, evidence, fix)


def _aws(subject: Subject) -> dict[str, EdgeQuota]:
    keyed = {u for k in subject.of_type(USAGE_PLAN_KEY) for u in k.property_dependencies.get("usagePlanId", [])}
    out = {}
    for tier in subject.tiers:
        plan = next((p for p in subject.of_type(USAGE_PLAN) if str(p.inputs.get("name", p.name)).endswith(f"-{tier}")),
                    None)
        if plan is None:
            continue
        throttle = plan.inputs.get("throttleSettings") or {}
        limits = plan.inputs.get("quotaSettings") or {}
        rpm = subject.tiers[tier]["rpm"]
        wrong = []
        if throttle.get("burstLimit") != rpm:
            wrong.append(f"burstLimit {throttle.get('burstLimit')} != {rpm}")
        if limits.get("period") != "MONTH":
            wrong.append(f"quota period {limits.get('period')} != MONTH")
        out[tier] = EdgeQuota(f"usage plan {plan.name} (rate {float(throttle.get('rateLimit', 0)):g}/s, burst "
                              f"{throttle.get('burstLimit')})",
                              float(throttle.get("rateLimit", 0)) * 60, limits.get("limit"),
                              bool(plan.inputs.get("apiStages")), plan.urn in keyed, wrong)
    return out


def _azure(subject: Subject) -> dict[str, EdgeQuota]:
    policies = {p.inputs.get("productId"): str(p.inputs.get("value") or "") for p in subject.of_type(APIM_PRODUCT_POLICY)}
    apis = {p.inputs.get("productId") for p in subject.of_type(APIM_PRODUCT_API)}
    subscribed = {str(s.inputs.get("scope", "")).rsplit("/products/", 1)[-1] for s in subject.of_type(APIM_SUBSCRIPTION)
                  if "/products/" in str(s.inputs.get("scope", "")) and s.inputs.get("state", "active") == "active"}
    out = {}
    for product in subject.of_type(APIM_PRODUCT):
        pid = product.inputs.get("productId")
        if pid not in subject.tiers:
            continue
        xml = policies.get(pid, "")
        rate, quota, wrong = _policy(xml, "rate-limit"), _policy(xml, "quota"), []
        rpm = rate[0] * 60 / rate[1] if rate else None
        if quota and quota[1] != MONTH_S:
            wrong.append(f"quota renewal-period {quota[1]} s != {MONTH_S} (30 days)")
        if product.inputs.get("state") != "published" or not product.inputs.get("subscriptionRequired", True):
            wrong.append("not a published product that requires a subscription")
        out[pid] = EdgeQuota(f"APIM product {pid} (rate-limit {rate[0] if rate else '-'}/{rate[1] if rate else '-'} s)",
                             rpm, quota[0] if quota else None, pid in apis, pid in subscribed, wrong)
    return out


def _policy(xml: str, element: str) -> tuple[int, int] | None:
    """(calls, renewal-period s) of the first `<element calls=".." renewal-period="..">` in a policy."""
    m = re.search(rf"<{element}\b[^>]*>", xml)
    if not m:
        return None
    calls, period = re.search(r'calls="(\d+)"', m.group(0)), re.search(r'renewal-period="(\d+)"', m.group(0))
    return (int(calls.group(1)), int(period.group(1))) if calls and period else None


def _gcp(subject: Subject, fix: str) -> Row:
    problems, warnings, evidence = [], [], []
    configs = subject.of_type(GCP_API_CONFIG)
    ceiling = max(v["rpm"] for v in subject.tiers.values())
    if not configs:
        return judged(4, TITLE, ["no API Gateway config in the plan"], [], fix)
    for cfg in configs:
        try:
            doc = json.loads(base64.b64decode(cfg.inputs["openapiDocuments"][0]["document"]["contents"]))
        except (KeyError, IndexError, TypeError, ValueError):
            problems.append(f"API config {cfg.name}: its OpenAPI document cannot be read")
            continue
        limits = ((doc.get("x-google-management") or {}).get("quota") or {}).get("limits") or []
        per_minute = [q for q in limits if q.get("unit") == "1/min/{project}"]
        if not per_minute:
            problems.append(f"API config {cfg.name}: no per-minute quota (x-google-management)")
            continue
        metric, limit = per_minute[0].get("metric"), (per_minute[0].get("values") or {}).get("STANDARD")
        ops = [(path, op) for path, item in (doc.get("paths") or {}).items() for op in item.values()
               if isinstance(op, dict)]
        free = [f"{path}" for path, op in ops if not ((op.get("x-google-quota") or {}).get("metricCosts") or {}).get(metric)]
        if limit != ceiling:
            problems.append(f"API config {cfg.name}: quota {limit}/min != the largest tier RPM {ceiling}")
        if free:
            problems.append(f"API config {cfg.name}: {len(free)} operation(s) not charged to {metric}: {', '.join(free[:3])}")
        if not free and limit == ceiling:
            evidence.append(f"API config {cfg.name}: quota {limit} requests/min per consumer project (the largest tier "
                            f"RPM), charged by all {len(ops)} operations")
    if not subject.of_type(GCP_API_KEY):
        problems.append("no API key restricted to the gateway")
    warnings.append("API Gateway quotas exist only per minute and per consumer project: the per-tier RPM and monthly "
                    f"quotas ({', '.join(sorted(subject.tiers))}) are enforced by the runtime limiter, not at the edge")
    return judged(4, TITLE, problems, evidence, fix, warnings)
