"""Point 4, rate limiting at the gateway layer: edge quotas exist and match the tier table.

On AWS each offered tier (TIERS, the core table with the stack's overrides) needs an API Gateway
usage plan attached to a stage, whose throttle is the tier's RPM (rate RPM/60 per second, burst one
minute of requests) and whose monthly quota is the tier's `monthly_request_quota`, and at least one
API key in it. The runtime limiter enforces the same numbers; the edge makes abuse cost nothing.
"""

from skyrelay.check.model import Row, judged
from skyrelay.check.subject import Subject

TITLE = "Rate limiting at the gateway layer"
USAGE_PLAN = "aws:apigateway/usagePlan:UsagePlan"
USAGE_PLAN_KEY = "aws:apigateway/usagePlanKey:UsagePlanKey"
FIX = "create one usage plan per tier from the tier table (JobsApi `tiers`), attached to the stage, with its API keys"


def check(subject: Subject) -> Row:
    if subject.cloud != "aws":
        return judged(4, TITLE, [f"no gateway quota rule for {subject.cloud} yet (APIM products / API quotas)"],
                      [], FIX)
    if not subject.tiers:
        return judged(4, TITLE, ["no tier table (TIERS) on the functions: cannot tell what the edge should enforce"],
                      [], FIX)
    plans = subject.of_type(USAGE_PLAN)
    keyed = {u for k in subject.of_type(USAGE_PLAN_KEY) for u in k.property_dependencies.get("usagePlanId", [])}
    problems, evidence = [], []
    for tier, values in sorted(subject.tiers.items()):
        plan = next((p for p in plans if str(p.inputs.get("name", p.name)).endswith(f"-{tier}")), None)
        if plan is None:
            problems.append(f"tier {tier}: no usage plan")
            continue
        rpm, quota = values["rpm"], values["monthly_request_quota"]
        throttle = plan.inputs.get("throttleSettings") or {}
        limits = plan.inputs.get("quotaSettings") or {}
        wrong = []
        if abs(float(throttle.get("rateLimit", 0)) - rpm / 60) > 0.001:
            wrong.append(f"rateLimit {throttle.get('rateLimit')} != {rpm}/60")
        if throttle.get("burstLimit") != rpm:
            wrong.append(f"burstLimit {throttle.get('burstLimit')} != {rpm}")
        if limits.get("limit") != quota or limits.get("period") != "MONTH":
            wrong.append(f"quota {limits.get('limit')}/{limits.get('period')} != {quota}/MONTH")
        if not plan.inputs.get("apiStages"):
            wrong.append("attached to no stage")
        if plan.urn not in keyed:
            wrong.append("no API key in it")
        if wrong:
            problems.append(f"tier {tier} usage plan {plan.name}: {'; '.join(wrong)}")
        else:
            evidence.append(f"tier {tier}: usage plan {plan.name}, {rpm} RPM (rate {throttle['rateLimit']}/s, burst "
                            f"{throttle['burstLimit']}), quota {quota:,}/month")
    if not keyed:
        problems.append("no API key is in any usage plan")
    return judged(4, TITLE, problems, evidence, FIX)
