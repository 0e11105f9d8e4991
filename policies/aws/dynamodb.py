"""DynamoDB: point-in-time recovery, server-side encryption with KMS, and a TTL attribute."""

from pulumi_policy import Severity

from skyrelay.policies.checks import requires_true
from skyrelay.policies.props import get, truthy
from skyrelay.policies.rule import ADVISORY, Rule, resource_policy

TABLE = "aws:dynamodb/table:Table"

PITR = Rule(
    id="aws-dynamodb-pitr",
    description="DynamoDB tables have point-in-time recovery enabled.",
    severity=Severity.HIGH,
    checkov=("CKV_AWS_28",),
    cloud="aws",
    remediation='Set `point_in_time_recovery={"enabled": True}`.',
)
ENCRYPTION = Rule(
    id="aws-dynamodb-encryption",
    description="DynamoDB tables use KMS server-side encryption (AWS-managed or customer-managed key).",
    severity=Severity.MEDIUM,
    checkov=("CKV_AWS_119",),
    cloud="aws",
    remediation='Set `server_side_encryption={"enabled": True}` (add `kms_key_arn` for a customer-managed key).',
)
TTL = Rule(
    id="aws-dynamodb-ttl",
    description="DynamoDB tables expire records through a TTL attribute.",
    severity=Severity.LOW,
    enforcement=ADVISORY,
    cloud="aws",
    remediation='Set `ttl={"attribute_name": "expires_at", "enabled": True}` and write the epoch seconds on each item.',
)


check_pitr = requires_true("pointInTimeRecovery.enabled")


def check_encryption(args):
    if not truthy(get(args.props, "serverSideEncryption.enabled")):
        yield "serverSideEncryption.enabled is not true (only the AWS-owned key protects the table)"


def check_ttl(args):
    if not (truthy(get(args.props, "ttl.enabled")) and get(args.props, "ttl.attributeName")):
        yield "no enabled ttl.attributeName"


POLICIES = [
    resource_policy(PITR, check_pitr, [TABLE]),
    resource_policy(ENCRYPTION, check_encryption, [TABLE]),
    resource_policy(TTL, check_ttl, [TABLE]),
]
