"""Stack rules shared by the three clouds: a budget with alert thresholds and an anomaly alert for
every cloud the stack deploys to, and tier max_tokens caps no larger than the pack allows.

They judge type tokens only (never our components), so a third-party stack is held to them too.
"""

import re
from collections.abc import Mapping

from pulumi_policy import Severity

from skyrelay.policies import config
from skyrelay.policies.props import as_json, as_list, as_map, get, number, of_type, truthy
from skyrelay.policies.rule import Rule, stack_policy

AWS_BUDGET = "aws:budgets/budget:Budget"
AWS_ANOMALY = "aws:costexplorer/anomalySubscription:AnomalySubscription"
AZURE_BUDGET = "azure-native:consumption:Budget"
AZURE_ALERTS = ("azure-native:costmanagement:ScheduledAction", "azure-native:costmanagement:ScheduledActionByScope")
GCP_BUDGET = "gcp:billing/budget:Budget"
GCP_ALERT_POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
STACK = "pulumi:pulumi:Stack"

CLOUDS = {"aws": "aws", "azure-native": "azure", "azure": "azure", "gcp": "gcp"}

BUDGET = Rule(
    id="stack-budget-alerts",
    description="Every cloud the stack deploys to has a budget that alerts at 50/80/100% of actual spend.",
    severity=Severity.HIGH,
    kind="stack",
    config=("budgetThresholds",),
    remediation=(
        "Add a budget for the cloud (skyrelay's CostGuard does: aws.budgets.Budget, azure-native "
        "consumption.Budget, gcp billing.Budget) with actual-spend notifications at 50, 80 and 100 percent."
    ),
)
ANOMALY = Rule(
    id="stack-cost-anomaly-alert",
    description=(
        "Every cloud the stack deploys to has a cost anomaly alert (GCP, which has none: a forecasted-spend "
        "budget rule plus a notification channel or alert policy)."
    ),
    severity=Severity.HIGH,
    kind="stack",
    remediation=(
        "AWS: aws.costexplorer.AnomalyMonitor + AnomalySubscription. Azure: costmanagement.ScheduledAction "
        "of kind InsightAlert. GCP: a FORECASTED_SPEND threshold rule on the budget, with all_updates_rule "
        "notifications (Pub/Sub or monitoring channels) or a monitoring AlertPolicy."
    ),
)
TIER_CAPS = Rule(
    id="stack-tier-max-tokens-cap",
    description="The max_tokens caps a stack configures for its tiers do not exceed the pack's configured caps.",
    severity=Severity.HIGH,
    kind="stack",
    config=("maxTokensCaps",),
    remediation=(
        "Lower the tier's max_tokens_cap (skyrelay:tierOverrides) or, for a contract that allows more, raise "
        "`maxTokensCaps` for that tier in the policy config."
    ),
)


def clouds_in(resources) -> set[str]:
    return {CLOUDS[r.resource_type.split(":", 1)[0]] for r in resources if r.resource_type.split(":", 1)[0] in CLOUDS}


# ---- budgets ----
def _actual_thresholds(budget) -> set[float]:
    kind, props = budget.resource_type, budget.props
    found: set[float] = set()
    if kind == AWS_BUDGET:
        for n in as_list(get(props, "notifications")):
            if get(n, "notificationType") == "ACTUAL" and get(n, "thresholdType", "PERCENTAGE") == "PERCENTAGE":
                found.add(number(get(n, "threshold"), -1))
    elif kind == AZURE_BUDGET:
        for n in as_map(get(props, "notifications")).values():
            if truthy(get(n, "enabled", True)) and get(n, "thresholdType", "Actual") == "Actual":
                found.add(number(get(n, "threshold"), -1))
    elif kind == GCP_BUDGET:
        for rule in as_list(get(props, "thresholdRules")):
            if get(rule, "spendBasis", "CURRENT_SPEND") == "CURRENT_SPEND":
                found.add(round(number(get(rule, "thresholdPercent"), -1) * 100, 6))
    return found


BUDGET_TYPES = {"aws": AWS_BUDGET, "azure": AZURE_BUDGET, "gcp": GCP_BUDGET}


def check_budgets(args):
    wanted = {float(t) for t in config.value(args.get_config(), "budgetThresholds")}
    for cloud in sorted(clouds_in(args.resources)):
        budgets = of_type(args.resources, BUDGET_TYPES[cloud])
        if not budgets:
            yield f"no {cloud} budget in the stack", None
            continue
        if not any(wanted <= _actual_thresholds(b) for b in budgets):
            missing = sorted(wanted - _actual_thresholds(budgets[0]))
            yield f"budget lacks actual-spend alerts at {', '.join(f'{m:g}%' for m in missing)}", budgets[0].urn


# ---- anomaly alerts ----
def _gcp_substitute(resources) -> bool:
    has_alert_policy = bool(of_type(resources, GCP_ALERT_POLICY))
    for budget in of_type(resources, GCP_BUDGET):
        forecast = any(get(r, "spendBasis") == "FORECASTED_SPEND" for r in as_list(get(budget.props, "thresholdRules")))
        notified = get(budget.props, "allUpdatesRule.pubsubTopic") or as_list(
            get(budget.props, "allUpdatesRule.monitoringNotificationChannels")
        )
        if forecast and (notified or has_alert_policy):
            return True
    return False


def check_anomaly(args):
    resources = args.resources
    for cloud in sorted(clouds_in(resources)):
        if cloud == "aws":
            ok = any(
                as_list(get(s.props, "monitorArnLists")) and as_list(get(s.props, "subscribers"))
                for s in of_type(resources, AWS_ANOMALY)
            )
        elif cloud == "azure":
            ok = any(get(a.props, "kind") == "InsightAlert" for a in of_type(resources, *AZURE_ALERTS))
        else:
            ok = _gcp_substitute(resources)
        if not ok:
            yield f"no {cloud} cost anomaly alert in the stack", None


# ---- tier max_tokens caps ----
_PER_TIER_ENV = re.compile(r"^SKYRELAY_TIER_([A-Z0-9_]+)_MAX_TOKENS_CAP$")
CAP_OUTPUTS = ("tiers", "maxTokensCaps", "max_tokens_caps")
CAP_ENV = ("SKYRELAY_TIERS", "SKYRELAY_MAX_TOKENS_CAPS")


def caps_in(document) -> dict[str, float]:
    """{tier: cap} from `{"free": {"max_tokens_cap": 1024}, ...}` or `{"free": 1024, ...}` (or its JSON)."""
    doc = as_json(document)
    caps = {}
    for tier, value in (doc.items() if isinstance(doc, Mapping) else ()):
        if isinstance(value, Mapping):
            value = value.get("max_tokens_cap", value.get("maxTokensCap"))
        cap = number(value)
        if cap is not None:
            caps[str(tier).lower()] = cap
    return caps


def _env_of(resource) -> dict[str, str]:
    """Environment of a Lambda function, a Cloud Run service or job, or an Azure web/function app."""
    props, env = resource.props, {}
    env.update(as_map(get(props, "environment.variables")))
    for item in as_list(get(props, "siteConfig.appSettings")):
        # Only the settings that carry caps are read: at preview other values (an identity's client
        # id) are unknown, and reading one stops the rule ("can't run policy ... during preview").
        name = str(get(item, "name"))
        if name in CAP_ENV or _PER_TIER_ENV.match(name):
            env[name] = get(item, "value")
    containers = [*as_list(get(props, "template.containers")), *as_list(get(props, "template.template.containers"))]
    containers += as_list(get(props, "template.spec.containers"))
    for container in containers:
        for item in as_list(get(container, "envs")) + as_list(get(container, "env")):
            env[str(get(item, "name"))] = get(item, "value")
    return env


def configured_caps(resources) -> list[tuple[str, dict[str, float]]]:
    """(urn, {tier: cap}) for each resource that carries tier caps: stack outputs, or compute env."""
    found = []
    for r in resources:
        caps: dict[str, float] = {}
        if r.resource_type == STACK:
            for key in CAP_OUTPUTS:
                caps.update(caps_in(get(r.props, key)))
        else:
            env = _env_of(r)
            for key in CAP_ENV:
                caps.update(caps_in(env.get(key)))
            for name, value in env.items():
                m = _PER_TIER_ENV.match(name)
                if m and number(value) is not None:
                    caps[m[1].lower()] = number(value)
        if caps:
            found.append((r.urn, caps))
    return found


def check_tier_caps(args):
    allowed = {**config.default_max_tokens_caps(), **as_map(args.get_config().get("maxTokensCaps"))}
    allowed = {str(k).lower(): number(v) for k, v in allowed.items()}
    for urn, caps in configured_caps(args.resources):
        for tier, cap in sorted(caps.items()):
            if tier not in allowed:
                yield f"tier {tier!r} has max_tokens cap {cap:g} but the pack configures no cap for it", urn
            elif cap > allowed[tier]:
                yield f"tier {tier!r} max_tokens cap {cap:g} exceeds the pack's cap of {allowed[tier]:g}", urn


POLICIES = [
    stack_policy(BUDGET, check_budgets),
    stack_policy(ANOMALY, check_anomaly),
    stack_policy(TIER_CAPS, check_tier_caps),
]
