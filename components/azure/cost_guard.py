"""CostGuard for Azure: a monthly Consumption budget on the stack's resource group with 50/80/100%
actual and 100% forecasted alerts, the subscription's daily cost anomaly alert, and one
"Require a tag on resources" policy assignment per required tag.

Permissions: budgets and anomaly alerts need Cost Management Contributor (the alert on the
subscription); policy assignments need Resource Policy Contributor on the resource group.
"""

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Required, TypedDict

import pulumi
import pulumi_azure_native as azure_native

from skyrelay.components.azure.defaults import COST_GUARD, REQUIRE_TAG_POLICY_ID
from skyrelay.components.defaults import resolve
from skyrelay.errors import ConfigError
from skyrelay.tags import REQUIRED_TAG_KEYS

ANOMALY_VIEW = "ms:DailyAnomalyByResourceGroup"
MAX_BUDGET_NOTIFICATIONS = 5  # an Azure budget holds at most five notifications


class CostGuardArgs(TypedDict, total=False):
    budget_amount: Required[float]
    """Monthly budget, in the billing account's currency. Required, above 0."""
    cost_center: Required[str]
    """The cost-center tag value this guard watches (names and descriptions). Required."""
    resource_group_name: Required[pulumi.Input[str]]
    """The resource group the budget and the tag policies are scoped to. Required."""
    subscription_id: str
    """Subscription of the resource group; default: the provider's (getClientConfig)."""
    alert_emails: Sequence[str]
    """Addresses that get budget and anomaly alerts (default: none). Required unless action groups are given."""
    action_group_ids: Sequence[pulumi.Input[str]]
    """Azure Monitor action group ids the budget notifies as well (contactGroups; default: none)."""
    alert_thresholds: Sequence[int]
    """Actual-spend alert thresholds in percent (default 50, 80, 100)."""
    forecast_threshold: int
    """Forecasted-spend alert threshold in percent (default 100)."""
    start_date: str
    """First day of the budget and the alert schedule, `YYYY-MM-01`; default: this month."""
    overrides: dict[str, Any]
    """Changes to the defaults table (see the component README)."""


class CostGuard(pulumi.ComponentResource):
    """Budget, anomaly alert and tag policies for one resource group. Children are attributes."""

    budget: azure_native.consumption.Budget
    """The monthly Consumption budget on the resource group."""

    def __init__(self, name: str, args: CostGuardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("skyrelay:azure:CostGuard", name, None, opts)
        settings = resolve("CostGuard", COST_GUARD, args.get("overrides"))
        amount, cost_center, emails, groups = _validated(args, settings)
        thresholds = sorted(set(args.get("alert_thresholds", (50, 80, 100))))
        start = _start_date(args.get("start_date"))
        child = pulumi.ResourceOptions(parent=self)

        subscription = args.get("subscription_id") or azure_native.authorization.get_client_config_output(
            opts=pulumi.InvokeOptions(parent=self)
        ).subscription_id
        self.scope = pulumi.Output.all(subscription, args["resource_group_name"]).apply(
            lambda a: f"/subscriptions/{a[0]}/resourceGroups/{a[1]}"
        )

        def notification(threshold: int, kind: str) -> azure_native.consumption.NotificationArgs:
            return azure_native.consumption.NotificationArgs(
                enabled=True,
                operator="GreaterThan",
                threshold=threshold,
                threshold_type=kind,
                contact_emails=emails,
                contact_groups=groups or None,
            )

        notifications = {f"actual_{t}": notification(t, "Actual") for t in thresholds}
        if settings["forecast_notification"]:
            forecast = args.get("forecast_threshold", 100)
            notifications[f"forecasted_{forecast}"] = notification(forecast, "Forecasted")
        self.budget = azure_native.consumption.Budget(
            f"{name}-monthly",
            budget_name=f"{name}-{cost_center}-monthly",
            scope=self.scope,
            amount=amount,
            category="Cost",
            time_grain=settings["budget_time_grain"],
            # Azure wants the first of a month, not in the past beyond the current period: the
            # start matters at creation only, so later months do not rewrite it.
            time_period=azure_native.consumption.BudgetTimePeriodArgs(start_date=_iso(start)),
            notifications=notifications,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["timePeriod"]),
        )

        self.anomaly_alert = None
        if settings["anomaly_alert"]:
            # InsightAlert exists only as a shared (by-scope) scheduled action on a subscription.
            end = start.replace(year=start.year + settings["anomaly_alert_years"])
            self.anomaly_alert = azure_native.costmanagement.ScheduledActionByScope(
                f"{name}-anomalies",
                name=_slug(f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}-anomalies"),
                kind="InsightAlert",
                scope=pulumi.Output.from_input(subscription).apply(lambda s: f"subscriptions/{s}"),
                view_id=pulumi.Output.from_input(subscription).apply(
                    lambda s: f"/subscriptions/{s}/providers/Microsoft.CostManagement/views/{ANOMALY_VIEW}"
                ),
                display_name=f"Cost anomalies ({cost_center})",
                status="Enabled",
                notification=azure_native.costmanagement.NotificationPropertiesArgs(
                    to=emails,
                    subject=f"Cost anomaly detected ({cost_center})",
                ),
                notification_email=emails[0],
                schedule=azure_native.costmanagement.SchedulePropertiesArgs(
                    frequency="Daily", start_date=_iso(start), end_date=_iso(end)
                ),
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=["schedule.startDate", "schedule.endDate"]),
            )

        self.tag_policies = []
        if settings["require_tag_policies"]:
            self.tag_policies = [
                azure_native.authorization.PolicyAssignment(
                    f"{name}-require-{key}",
                    policy_assignment_name=f"require-tag-{key}",
                    display_name=f"Require the '{key}' tag on resources",
                    description=f"skyrelay CostGuard: every resource in this group carries the '{key}' tag",
                    policy_definition_id=REQUIRE_TAG_POLICY_ID,
                    scope=self.scope,
                    enforcement_mode=settings["policy_enforcement_mode"],
                    parameters={"tagName": azure_native.authorization.ParameterValuesValueArgs(value=key)},
                    non_compliance_messages=[
                        azure_native.authorization.NonComplianceMessageArgs(
                            message=f"Resources here must carry the '{key}' tag (skyrelay tagging policy)."
                        )
                    ],
                    opts=child,
                )
                for key in REQUIRED_TAG_KEYS
            ]
        self.register_outputs(
            {
                "budget_id": self.budget.id,
                "budget_scope": self.scope,
                "anomaly_alert_id": self.anomaly_alert.id if self.anomaly_alert else None,
                "tag_policy_ids": [p.id for p in self.tag_policies],
            }
        )


def _validated(args: CostGuardArgs, settings: dict[str, Any]) -> tuple[float, str, list[str], list]:
    amount = args.get("budget_amount")
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0:
        raise ConfigError("CostGuard.budget_amount", f"must be a number above 0, got {amount!r}")
    cost_center = args.get("cost_center")
    if not cost_center:
        raise ConfigError("CostGuard.cost_center", "required: the cost-center tag value this guard watches")
    if not args.get("resource_group_name"):
        raise ConfigError("CostGuard.resource_group_name", "required: the resource group the budget is scoped to")
    emails = list(args.get("alert_emails", ()))
    groups = list(args.get("action_group_ids", ()))
    if not emails and not groups:
        raise ConfigError(
            "CostGuard.alert_emails", "an Azure budget needs at least one contact email or action group"
        )
    if settings["anomaly_alert"] and not emails:
        raise ConfigError("CostGuard.alert_emails", "the anomaly alert mails its findings: give at least one address")
    thresholds = set(args.get("alert_thresholds", (50, 80, 100)))
    if any(not 0 < t <= 1000 for t in thresholds):
        raise ConfigError("CostGuard.alert_thresholds", "Azure budget thresholds are percentages in (0, 1000]")
    count = len(thresholds) + (1 if settings["forecast_notification"] else 0)
    if count > MAX_BUDGET_NOTIFICATIONS:
        raise ConfigError(
            "CostGuard.alert_thresholds",
            f"an Azure budget holds at most {MAX_BUDGET_NOTIFICATIONS} notifications, these thresholds need {count}",
        )
    return float(amount), cost_center, emails, groups


def _start_date(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    try:
        start = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ConfigError("CostGuard.start_date", f"expected YYYY-MM-01, got {value!r}") from None
    if start.day != 1:
        raise ConfigError("CostGuard.start_date", f"Azure budgets start on the first of a month, got {value!r}")
    return start


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:64]
