"""The DynamoDB job table: single-table keys `pk`/`sk` (jobs, idempotency keys, limiter counters),
on demand, PITR, TTL, deletion protection, KMS encryption, and the runtime's two indexes."""

from typing import Any

import pulumi
import pulumi_aws as aws

# The job table's indexes (runtime/stores/dynamodb.py: INDEX, STATUS_INDEX).
TENANT_INDEX = "by_tenant"
STATUS_INDEX = "by_status"


def _index_keys(hash_key: str, range_key: str) -> list[aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs]:
    return [
        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=hash_key, key_type="HASH"),
        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=range_key, key_type="RANGE"),
    ]


def job_table(owner: pulumi.Resource, name: str, settings: dict[str, Any],
              kms: pulumi.Input[str] | None) -> aws.dynamodb.Table:
    return aws.dynamodb.Table(
        f"{name}-jobs",
        billing_mode=settings["table_billing_mode"],
        hash_key="pk",
        range_key="sk",
        attributes=[aws.dynamodb.TableAttributeArgs(name=a, type="S")
                    for a in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")],
        # The runtime's DynamoJobStore layout: `by_tenant`, a tenant's jobs newest first
        # (GET /v1/jobs); `by_status`, sparse (keys + expiry only), PENDING jobs oldest update first
        # (the sweeper's query; only PENDING items carry gsi2pk/gsi2sk).
        global_secondary_indexes=[
            aws.dynamodb.TableGlobalSecondaryIndexArgs(
                name=TENANT_INDEX, key_schemas=_index_keys("gsi1pk", "gsi1sk"), projection_type="ALL"
            ),
            aws.dynamodb.TableGlobalSecondaryIndexArgs(
                name=STATUS_INDEX,
                key_schemas=_index_keys("gsi2pk", "gsi2sk"),
                # keys + the expiry (filtered in the query): each index write stays ~1 WCU
                projection_type="INCLUDE",
                non_key_attributes=["expires_at_exact"],
            ),
        ],
        ttl=aws.dynamodb.TableTtlArgs(attribute_name=settings["table_ttl_attribute"], enabled=True),
        point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=settings["table_pitr"]),
        deletion_protection_enabled=settings["table_deletion_protection"],
        server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
            enabled=settings["table_sse"], kms_key_arn=kms
        ),
        opts=pulumi.ResourceOptions(parent=owner),
    )
