"""Firestore: point-in-time recovery and delete protection on the job database."""

from pulumi_policy import Severity

from skyrelay.policies.checks import requires_value
from skyrelay.policies.rule import Rule, resource_policy

DATABASE = "gcp:firestore/database:Database"

PITR = Rule(
    id="gcp-firestore-pitr",
    description="Firestore databases have point-in-time recovery enabled.",
    severity=Severity.HIGH,
    cloud="gcp",
    remediation='Set `point_in_time_recovery_enablement="POINT_IN_TIME_RECOVERY_ENABLED"`.',
)
DELETE_PROTECTION = Rule(
    id="gcp-firestore-delete-protection",
    description="Firestore databases have delete protection enabled.",
    severity=Severity.HIGH,
    cloud="gcp",
    remediation='Set `delete_protection_state="DELETE_PROTECTION_ENABLED"`.',
)


check_pitr = requires_value("pointInTimeRecoveryEnablement", "POINT_IN_TIME_RECOVERY_ENABLED")
check_delete_protection = requires_value("deleteProtectionState", "DELETE_PROTECTION_ENABLED")


POLICIES = [
    resource_policy(PITR, check_pitr, [DATABASE]),
    resource_policy(DELETE_PROTECTION, check_delete_protection, [DATABASE]),
]
