"""The GCP blueprint: what `pulumi up -s gcp-dev` deploys."""

import pulumi
import pulumi_gcp as gcp

from skyrelay import deployment as contract
from skyrelay.components.gcp import CostGuard
from skyrelay.config import StackConfig


def deploy(config: StackConfig) -> dict:
    settings = config.gcp  # parse_stack_config requires the section when cloud is gcp
    tags = config.tags.as_dict()
    # default_labels is the engine-side safety net (resources with `labels`); the tagging
    # transformation makes the labels visible in the plan. billing_project + user_project_override
    # give the Budgets API the quota project it needs with user credentials.
    provider = gcp.Provider(
        "gcp",
        project=settings.project,
        region=settings.region,
        default_labels=tags,
        billing_project=settings.project,
        user_project_override=True,
    )
    opts = pulumi.ResourceOptions(providers={"gcp": provider})
    guard = CostGuard(
        "cost",
        {**contract.cost_guard_args(config), "billing_account": settings.billing_account, "project": settings.project,
         "region": settings.region, "currency": config.budget.currency, "user_labels": tags},
        opts=opts,
    )
    return {"budget_topic_id": guard.topic.id, "budget_id": guard.budget.id}
