"""CostGuard for AWS: a monthly budget with 50/80/100% alerts, cost anomaly detection, and the
cost-allocation tags that both filter on, all publishing to one encrypted SNS topic.

Budgets and Cost Explorer are global services; deploy this with a provider in the payer or member
account that owns the spend (cost-allocation tag activation needs the management account).
"""

import json
from collections.abc import Sequence
from typing import Any, Required, TypedDict

import pulumi
import pulumi_aws as aws

from skyrelay.components.aws.defaults import COST_GUARD
from skyrelay.components.defaults import resolve
from skyrelay.errors import ConfigError
from skyrelay.tags import REQUIRED_TAG_KEYS


class CostGuardArgs(TypedDict, total=False):
    budget_amount: Required[float]
    """Monthly budget, in `currency`. Required, above 0."""
    cost_center: Required[str]
    """The cost-center tag value the budget and anomaly monitor are scoped to. Required."""
    currency: str
    """ISO currency code of the budget (default USD)."""
    alert_emails: Sequence[str]
    """Email addresses subscribed to the alert topic (default: none)."""
    alert_thresholds: Sequence[int]
    """ACTUAL-spend alert thresholds in percent (default 50, 80, 100)."""
    forecast_threshold: int
    """FORECASTED-spend alert threshold in percent (default 100)."""
    anomaly_threshold: float
    """Alert on anomalies whose total impact is at least this amount (default 100)."""
    overrides: dict[str, Any]
    """Changes to the defaults table (see the component README)."""


class CostGuard(pulumi.ComponentResource):
    """Budget, anomaly alerts and tag activation for one cost center. Children are attributes."""

    topic: aws.sns.Topic
    """The encrypted, TLS-only alert topic budgets and anomaly alerts publish to (alarms can use it too)."""
    budget: aws.budgets.Budget
    """The monthly cost budget, scoped to the cost-center tag."""
    anomaly_monitor: aws.costexplorer.AnomalyMonitor
    """The cost anomaly monitor for the cost center."""
    anomaly_subscription: aws.costexplorer.AnomalySubscription
    """The anomaly subscription that publishes to the alert topic."""

    def __init__(self, name: str, args: CostGuardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("skyrelay:aws:CostGuard", name, None, opts)
        settings = resolve("CostGuard", COST_GUARD, args.get("overrides"))
        amount, cost_center = _validated(args)
        currency = args.get("currency", "USD")
        thresholds = sorted(set(args.get("alert_thresholds", (50, 80, 100))))
        child = pulumi.ResourceOptions(parent=self)
        caller = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self))

        self.key = None
        if settings["sns_kms_encryption"]:
            self.key = aws.kms.Key(
                f"{name}-alerts",
                description=f"{name}: encrypts budget and anomaly alerts",
                enable_key_rotation=settings["kms_key_rotation"],
                deletion_window_in_days=settings["kms_deletion_window_days"],
                policy=caller.account_id.apply(_key_policy),
                opts=child,
            )
        self.topic = aws.sns.Topic(
            f"{name}-alerts",
            kms_master_key_id=self.key.arn if self.key else None,
            opts=child,
        )
        self.topic_policy = aws.sns.TopicPolicy(
            f"{name}-alerts",
            arn=self.topic.arn,
            policy=pulumi.Output.all(self.topic.arn, caller.account_id).apply(
                lambda a: _topic_policy(a[0], a[1], settings["sns_tls_only"])
            ),
            opts=child,
        )
        self.subscriptions = [
            aws.sns.TopicSubscription(f"{name}-email-{i}", topic=self.topic.arn, protocol="email", endpoint=email, opts=child)
            for i, email in enumerate(args.get("alert_emails", ()))
        ]
        notifications = [
            aws.budgets.BudgetNotificationArgs(
                comparison_operator="GREATER_THAN",
                threshold=t,
                threshold_type="PERCENTAGE",
                notification_type="ACTUAL",
                subscriber_sns_topic_arns=[self.topic.arn],
            )
            for t in thresholds
        ]
        if settings["forecast_notification"]:
            notifications.append(
                aws.budgets.BudgetNotificationArgs(
                    comparison_operator="GREATER_THAN",
                    threshold=args.get("forecast_threshold", 100),
                    threshold_type="PERCENTAGE",
                    notification_type="FORECASTED",
                    subscriber_sns_topic_arns=[self.topic.arn],
                )
            )
        after_policy = pulumi.ResourceOptions(parent=self, depends_on=[self.topic_policy])
        self.budget = aws.budgets.Budget(
            f"{name}-monthly",
            budget_type="COST",
            limit_amount=f"{amount:.2f}",
            limit_unit=currency,
            time_unit=settings["budget_time_unit"],
            cost_filters=[aws.budgets.BudgetCostFilterArgs(name="TagKeyValue", values=[f"user:cost-center${cost_center}"])],
            notifications=notifications,
            opts=after_policy,
        )
        self.anomaly_monitor = aws.costexplorer.AnomalyMonitor(
            f"{name}-anomalies",
            name=f"{name}-cost-center-{cost_center}",
            monitor_type="CUSTOM",
            monitor_specification=json.dumps(
                {"Tags": {"Key": "cost-center", "Values": [cost_center], "MatchOptions": ["EQUALS"]}}
            ),
            opts=child,
        )
        self.anomaly_subscription = aws.costexplorer.AnomalySubscription(
            f"{name}-anomalies",
            name=f"{name}-anomaly-alerts",
            frequency=settings["anomaly_frequency"],
            monitor_arn_lists=[self.anomaly_monitor.arn],
            subscribers=[aws.costexplorer.AnomalySubscriptionSubscriberArgs(type="SNS", address=self.topic.arn)],
            threshold_expression=aws.costexplorer.AnomalySubscriptionThresholdExpressionArgs(
                dimension=aws.costexplorer.AnomalySubscriptionThresholdExpressionDimensionArgs(
                    key="ANOMALY_TOTAL_IMPACT_ABSOLUTE",
                    match_options=["GREATER_THAN_OR_EQUAL"],
                    values=[f"{args.get('anomaly_threshold', 100):g}"],
                )
            ),
            opts=after_policy,
        )
        self.cost_allocation_tags = []
        if settings["activate_cost_allocation_tags"]:
            self.cost_allocation_tags = [
                aws.costexplorer.CostAllocationTag(f"{name}-tag-{key}", tag_key=key, status="Active", opts=child)
                for key in REQUIRED_TAG_KEYS
            ]
        self.register_outputs(
            {
                "topic_arn": self.topic.arn,
                "budget_name": self.budget.name,
                "anomaly_monitor_arn": self.anomaly_monitor.arn,
            }
        )


def _validated(args: CostGuardArgs) -> tuple[float, str]:
    amount = args.get("budget_amount")
    if not isinstance(amount, int | float) or amount <= 0:
        raise ConfigError("CostGuard.budget_amount", f"must be a number above 0, got {amount!r}")
    cost_center = args.get("cost_center")
    if not cost_center:
        raise ConfigError("CostGuard.cost_center", "required: the cost-center tag value to scope the budget to")
    return float(amount), cost_center


def _key_policy(account_id: str) -> str:
    """Account admins manage the key; the budgets and anomaly services may encrypt to the topic."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdmin",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "CostServicesPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": ["budgets.amazonaws.com", "costalerts.amazonaws.com"]},
                    "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                },
            ],
        }
    )


def _topic_policy(topic_arn: str, account_id: str, tls_only: bool) -> str:
    statements = [
        {
            "Sid": "AllowBudgetsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "budgets.amazonaws.com"},
            "Action": "SNS:Publish",
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
        {
            "Sid": "AllowCostAnomalyPublish",
            "Effect": "Allow",
            "Principal": {"Service": "costalerts.amazonaws.com"},
            "Action": "SNS:Publish",
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
    ]
    if tls_only:
        statements.append(
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "SNS:Publish",
                "Resource": topic_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
