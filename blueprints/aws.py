"""The AWS blueprint: what `pulumi up -s aws-dev` deploys."""

import pulumi
import pulumi_aws as aws

from skyrelay.components.aws import CostGuard
from skyrelay.config import StackConfig


def deploy(config: StackConfig) -> dict:
    settings = config.aws
    region = settings.region if settings else "us-east-1"
    # default_tags is the engine-side safety net; the tagging transformation makes the tags visible
    # in the plan and covers resources whose provider ignores default_tags.
    provider = aws.Provider("aws", region=region, default_tags=aws.ProviderDefaultTagsArgs(tags=config.tags.as_dict()))
    opts = pulumi.ResourceOptions(providers={"aws": provider})
    guard = CostGuard(
        "cost",
        {
            "budget_amount": config.budget.amount,
            "cost_center": config.tags.cost_center,
            "currency": config.budget.currency,
            "alert_emails": list(config.budget.emails),
            "alert_thresholds": list(config.budget.alert_thresholds),
            "forecast_threshold": config.budget.forecast_threshold,
            "anomaly_threshold": config.budget.anomaly_threshold,
        },
        opts=opts,
    )
    return {"alert_topic_arn": guard.topic.arn, "budget_name": guard.budget.name}
