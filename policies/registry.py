"""Every rule of the pack, in a stable order. Importing this builds Policy objects, never a PolicyPack."""

from pulumi_policy import EnforcementLevel, Policy

from skyrelay.policies import aws, azure, gcp, stack, tags
from skyrelay.policies.rule import Rule

PACK_NAME = "skyrelay"
# Used for any policy without its own level; every rule sets one, so this is a safety net.
PACK_ENFORCEMENT = EnforcementLevel.ADVISORY


def all_policies() -> list[Policy]:
    return [*tags.POLICIES, *aws.POLICIES, *azure.POLICIES, *gcp.POLICIES, *stack.POLICIES]


def rules() -> dict[str, Rule]:
    """Rule metadata by id, in pack order."""
    return {p.name: p.rule for p in all_policies()}
