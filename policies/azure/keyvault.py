"""Key Vault: purge protection (a deleted vault or secret cannot be destroyed before its retention
ends) and Azure RBAC instead of access policies (one authorization model, auditable role assignments)."""

from pulumi_policy import Severity

from skyrelay.policies.checks import requires_true
from skyrelay.policies.rule import Rule, resource_policy

VAULT = "azure-native:keyvault:Vault"

PURGE_PROTECTION = Rule(
    id="azure-keyvault-purge-protection",
    description="Key Vaults enable purge protection.",
    severity=Severity.HIGH,
    checkov=("CKV_AZURE_42",),
    cloud="azure",
    remediation='Set `properties={"enable_purge_protection": True, ...}` (it cannot be turned off again).',
)
RBAC = Rule(
    id="azure-keyvault-rbac",
    description="Key Vaults use Azure RBAC authorization, not access policies.",
    severity=Severity.MEDIUM,
    cloud="azure",
    remediation='Set `properties={"enable_rbac_authorization": True, ...}` and grant Key Vault Secrets User.',
)

POLICIES = [
    resource_policy(PURGE_PROTECTION, requires_true("properties.enablePurgeProtection"), [VAULT]),
    resource_policy(RBAC, requires_true("properties.enableRbacAuthorization"), [VAULT]),
]
