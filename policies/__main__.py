"""The CrossGuard entry point: `pulumi preview --policy-pack policies`.

The engine starts this through `python -m pulumi.policy ENGINE_ADDRESS policies/`. Constructing
`PolicyPack` starts the analyzer gRPC server, prints its port and blocks, so this is the only
place that constructs one; the rules themselves live in importable modules.
"""

from pulumi_policy import PolicyPack

from skyrelay.policies.registry import PACK_ENFORCEMENT, PACK_NAME, all_policies

PolicyPack(
    name=PACK_NAME,
    policies=all_policies(),
    enforcement_level=PACK_ENFORCEMENT,
    description="skyrelay: tags, cost guardrails and the async AI pattern on AWS, Azure and GCP",
)
