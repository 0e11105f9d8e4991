"""Cosmos DB: continuous backup (point-in-time restore) and no account keys."""

from pulumi_policy import Severity

from skyrelay.policies.checks import requires_true
from skyrelay.policies.props import get
from skyrelay.policies.rule import Rule, resource_policy

ACCOUNT = "azure-native:cosmosdb:DatabaseAccount"

CONTINUOUS_BACKUP = Rule(
    id="azure-cosmos-continuous-backup",
    description="Cosmos DB accounts use continuous backup (point-in-time restore).",
    severity=Severity.HIGH,
    cloud="azure",
    remediation='Set `backup_policy={"type": "Continuous", "continuous_mode_properties": {"tier": "Continuous7Days"}}`.',
)
LOCAL_AUTH = Rule(
    id="azure-cosmos-local-auth-disabled",
    description="Cosmos DB accounts disable key-based (local) authentication.",
    severity=Severity.HIGH,
    checkov=("CKV_AZURE_140",),
    cloud="azure",
    remediation="Set `disable_local_auth=True` and use Entra ID data-plane roles.",
)


def check_backup(args):
    kind = get(args.props, "backupPolicy.type")
    if kind != "Continuous":
        yield f"backupPolicy.type is {kind or 'unset (Periodic)'}"


check_local_auth = requires_true("disableLocalAuth")


POLICIES = [
    resource_policy(CONTINUOUS_BACKUP, check_backup, [ACCOUNT]),
    resource_policy(LOCAL_AUTH, check_local_auth, [ACCOUNT]),
]
