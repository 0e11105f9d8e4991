"""The Azure blueprint: what `pulumi up -s azure-dev` deploys."""

import pulumi
import pulumi_azure_native as azure_native

from skyrelay import deployment as contract
from skyrelay.components.azure import CostGuard
from skyrelay.config import StackConfig


def deploy(config: StackConfig) -> dict:
    settings = config.azure  # parse_stack_config requires the section when cloud is azure
    provider = azure_native.Provider(
        "azure-native",
        location=settings.location,
        subscription_id=settings.subscription_id,  # None: the CLI's / environment's subscription
    )
    opts = pulumi.ResourceOptions(providers={"azure-native": provider})
    # The stack's resource group carries the tags (the tagging transformation adds them) and is the
    # scope of the budget and the tag policies.
    group = azure_native.resources.ResourceGroup(
        "rg", resource_group_name=settings.resource_group, location=settings.location, opts=opts
    )
    guard_args = {**contract.cost_guard_args(config), "resource_group_name": group.name}
    if settings.subscription_id:
        guard_args["subscription_id"] = settings.subscription_id
    guard = CostGuard("cost", guard_args, opts=opts)
    return {
        "resource_group_id": group.id,
        "budget_id": guard.budget.id,
        "budget_scope": guard.scope,
    }
