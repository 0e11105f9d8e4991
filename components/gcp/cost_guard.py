"""CostGuard for GCP: a monthly Cloud Billing budget on the project and the stack's cost-center
label with 50/80/100% current-spend and 100% forecasted rules, publishing every update to a Pub/Sub
topic and to email notification channels, plus a spend-driver alert policy.

GCP has no cost anomaly resource (the billing anomalies API can only list and get what Google
found), so the anomaly alert here is a substitute: the forecast rule, and a Cloud Monitoring
alert on the request rate of the APIs that drive the bill, compared with the same hour a week
before. The component README explains what it catches and what it misses.

Permissions: Billing Account Costs Manager (or Administrator) on the billing account; the budget
API call needs a quota project (the blueprint's provider sets billing_project).
"""

from collections.abc import Sequence
from typing import Any, Required, TypedDict

import pulumi
import pulumi_gcp as gcp

from skyrelay.components.defaults import resolve
from skyrelay.components.gcp.defaults import BUDGET_PUBLISHER, COST_GUARD
from skyrelay.errors import ConfigError

MAX_BUDGET_CHANNELS = 5  # a budget notifies at most five monitoring channels
APIS = ("billingbudgets.googleapis.com", "pubsub.googleapis.com", "monitoring.googleapis.com")


class CostGuardArgs(TypedDict, total=False):
    budget_amount: Required[float]
    """Monthly budget, in `currency`. Required, above 0."""
    cost_center: Required[str]
    """The cost-center label value the budget is filtered to. Required."""
    billing_account: Required[str]
    """Billing account id (`XXXXXX-XXXXXX-XXXXXX`) that owns the budget. Required."""
    project: str
    """Project whose spend is watched; default: the provider's project."""
    region: str
    """Region the budget topic stores messages in (with `topic_pin_region`); default europe-west1."""
    currency: str
    """ISO currency code; must be the billing account's currency (default USD)."""
    alert_emails: Sequence[str]
    """Addresses that get budget and spend-driver alerts (email notification channels, at most 5; default: none)."""
    alert_thresholds: Sequence[int]
    """Current-spend alert thresholds in percent (default 50, 80, 100)."""
    forecast_threshold: int
    """Forecasted-spend alert threshold in percent (default 100)."""
    user_labels: dict[str, str]
    """Labels for the alert policy and channels (`user_labels`, which the tagging policy cannot see; default: none)."""
    overrides: dict[str, Any]
    """Changes to the defaults table (see the component README)."""


class CostGuard(pulumi.ComponentResource):
    """Budget, notification topic and spend-driver alert for one project. Children are attributes."""

    topic: gcp.pubsub.Topic
    """The Pub/Sub topic budget notifications publish to (pinned to `region`)."""
    budget: gcp.billing.Budget
    """The monthly budget on the billing account, filtered to the project and cost-center label."""

    def __init__(self, name: str, args: CostGuardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("skyrelay:gcp:CostGuard", name, None, opts)
        settings = resolve("CostGuard", COST_GUARD, args.get("overrides"))
        amount, cost_center, billing_account, emails = _validated(args)
        thresholds = sorted(set(args.get("alert_thresholds", (50, 80, 100))))
        currency = args.get("currency", "USD")
        user_labels = dict(args.get("user_labels") or {})
        project_id = args.get("project")
        child = pulumi.ResourceOptions(parent=self)
        project = gcp.organizations.get_project_output(project_id=project_id, opts=pulumi.InvokeOptions(parent=self))

        self.services = []
        if settings["enable_apis"]:
            self.services = [
                gcp.projects.Service(
                    f"{name}-{api.split('.')[0]}", project=project_id, service=api, disable_on_destroy=False, opts=child
                )
                for api in APIS
            ]
        after_apis = pulumi.ResourceOptions(parent=self, depends_on=self.services)

        self.topic = gcp.pubsub.Topic(
            f"{name}-budget",
            name=f"{name}-budget-alerts",
            project=project_id,
            message_retention_duration=settings["topic_message_retention"],
            message_storage_policy=gcp.pubsub.TopicMessageStoragePolicyArgs(
                allowed_persistence_regions=[args.get("region", "europe-west1")]
            )
            if settings["topic_pin_region"]
            else None,
            opts=after_apis,
        )
        # Cloud Billing publishes as its own service account, on this topic only.
        self.topic_publisher = gcp.pubsub.TopicIAMMember(
            f"{name}-budget-publisher",
            project=project_id,
            topic=self.topic.name,
            role="roles/pubsub.publisher",
            member=BUDGET_PUBLISHER,
            opts=child,
        )
        self.channels = [
            gcp.monitoring.NotificationChannel(
                f"{name}-email-{i}",
                project=project_id,
                display_name=f"Cost alerts: {email}",
                type="email",
                labels={"email_address": email},
                user_labels=user_labels or None,
                opts=after_apis,
            )
            for i, email in enumerate(emails)
        ]

        rules = [gcp.billing.BudgetThresholdRuleArgs(threshold_percent=t / 100, spend_basis="CURRENT_SPEND") for t in thresholds]
        if settings["forecast_notification"]:
            rules.append(
                gcp.billing.BudgetThresholdRuleArgs(
                    threshold_percent=args.get("forecast_threshold", 100) / 100, spend_basis="FORECASTED_SPEND"
                )
            )
        units, nanos = _money(amount)
        self.budget = gcp.billing.Budget(
            f"{name}-monthly",
            billing_account=billing_account,
            display_name=f"{name} {cost_center} monthly"[:60],
            budget_filter=gcp.billing.BudgetBudgetFilterArgs(
                projects=[project.number.apply(lambda n: f"projects/{n}")],
                labels={"cost-center": cost_center},
                calendar_period=settings["budget_calendar_period"],
                credit_types_treatment=settings["credit_types_treatment"],
            ),
            amount=gcp.billing.BudgetAmountArgs(
                specified_amount=gcp.billing.BudgetAmountSpecifiedAmountArgs(
                    currency_code=currency, units=units, nanos=nanos or None
                )
            ),
            threshold_rules=rules,
            all_updates_rule=gcp.billing.BudgetAllUpdatesRuleArgs(
                pubsub_topic=self.topic.id,
                schema_version=settings["pubsub_schema_version"],
                monitoring_notification_channels=[c.id for c in self.channels],
                disable_default_iam_recipients=settings["disable_default_iam_recipients"],
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.topic_publisher, *self.services]),
        )

        self.spend_driver_alert = None
        if settings["spend_driver_alert"]:
            self.spend_driver_alert = gcp.monitoring.AlertPolicy(
                f"{name}-spend-driver",
                project=project_id,
                display_name=f"{name}: spend driver request rate jumped ({cost_center})",
                combiner="OR",
                severity="WARNING",
                conditions=[
                    gcp.monitoring.AlertPolicyConditionArgs(
                        display_name="request rate over its weekly baseline",
                        condition_prometheus_query_language=gcp.monitoring.AlertPolicyConditionConditionPrometheusQueryLanguageArgs(
                            query=spend_driver_query(settings),
                            duration="900s",
                            evaluation_interval="300s",
                        ),
                    )
                ],
                notification_channels=[c.id for c in self.channels],
                alert_strategy=gcp.monitoring.AlertPolicyAlertStrategyArgs(auto_close="86400s"),
                documentation=gcp.monitoring.AlertPolicyDocumentationArgs(
                    mime_type="text/markdown",
                    subject=f"Spend driver spike ({cost_center})",
                    content=(
                        "The request rate of the APIs that drive this project's bill is "
                        f"{settings['spend_driver_spike_factor']:g}x the rate a week ago. GCP has no cost anomaly "
                        "alert; this is skyrelay's substitute. Check the Billing reports for the project and "
                        f"the budget topic `{name}-budget-alerts` for the latest costAmount."
                    ),
                ),
                user_labels=user_labels or None,
                opts=after_apis,
            )

        self.register_outputs(
            {
                "topic_id": self.topic.id,
                "budget_id": self.budget.id,
                "notification_channel_ids": [c.id for c in self.channels],
                "spend_driver_alert_id": self.spend_driver_alert.id if self.spend_driver_alert else None,
            }
        )


def spend_driver_query(settings: dict[str, Any]) -> str:
    """PromQL: the driver APIs' consumer request rate is `factor` x its rate one baseline offset ago
    and above a floor. `serviceruntime.googleapis.com/api/request_count` on `consumed_api` counts
    every call this project makes to a Google API, e.g. Vertex AI generateContent."""
    services = "|".join(s.replace(".", r"\\.") for s in settings["spend_driver_services"])
    selector = f'serviceruntime_googleapis_com:api_request_count{{monitored_resource="consumed_api",service=~"{services}"}}'
    window, offset = settings["spend_driver_window"], settings["spend_driver_baseline_offset"]
    now = f"sum(rate({selector}[{window}]))"
    before = f"sum(rate({selector}[{window}] offset {offset}))"
    return (
        f"({now} > {settings['spend_driver_spike_factor']:g} * {before}) "
        f"and ({now} > {settings['spend_driver_min_rate']:g})"
    )


def _validated(args: CostGuardArgs) -> tuple[float, str, str, list[str]]:
    amount = args.get("budget_amount")
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0:
        raise ConfigError("CostGuard.budget_amount", f"must be a number above 0, got {amount!r}")
    cost_center = args.get("cost_center")
    if not cost_center:
        raise ConfigError("CostGuard.cost_center", "required: the cost-center label value to filter the budget to")
    billing_account = args.get("billing_account")
    if not billing_account:
        raise ConfigError("CostGuard.billing_account", "required: the billing account that owns the budget")
    emails = list(args.get("alert_emails", ()))
    if len(emails) > MAX_BUDGET_CHANNELS:
        raise ConfigError(
            "CostGuard.alert_emails", f"a GCP budget notifies at most {MAX_BUDGET_CHANNELS} channels, got {len(emails)}"
        )
    return float(amount), cost_center, billing_account, emails


def _money(amount: float) -> tuple[str, int]:
    """Google's Money: whole units as a string, and nanos."""
    units = int(amount)
    return str(units), round((amount - units) * 1_000_000_000)
