"""Batch inference for AsyncJobs (runtime/batch): the S3 bucket the batcher's JSONL lives in, the
service role Bedrock assumes to read a job's input and write its output, and the statements the worker
and API functions need. The batcher's schedule is `sweeper.scheduled_event` with BATCH_EVENT.

The bucket: SSE (S3-managed, or KMS with `kms_key_arn`), every public access blocked, a policy that
denies any request without TLS, and a lifecycle rule that expires objects after
`batch_object_expiry_days` (the job records' TTL plus a day) and aborts stale multipart uploads.
The role: trusted by bedrock.amazonaws.com only for this account's model-invocation jobs; it may
read `groups/*` (each job's `input.jsonl`, and list that prefix) and write `groups/*/output/*`,
nothing else.
"""

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from skyrelay.components.aws.statements import allow, kms_statement

# The keys the runtime writes (runtime/batch/records.py): a group's input and the provider's output.
INPUT_KEYS = "groups/*"
OUTPUT_KEYS = "groups/*/output/*"


@dataclass
class BatchParts:
    bucket: aws.s3.Bucket
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    public_access_block: aws.s3.BucketPublicAccessBlock
    policy: aws.s3.BucketPolicy
    lifecycle: aws.s3.BucketLifecycleConfiguration
    role: aws.iam.Role
    role_policy: aws.iam.RolePolicy


def tls_only_policy(bucket_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyWithoutTls", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


def bedrock_trust(account: str, region: str) -> str:
    """bedrock.amazonaws.com, only on behalf of this account's model-invocation jobs (confused deputy)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account},
                      "ArnLike": {"aws:SourceArn": f"arn:aws:bedrock:{region}:{account}:model-invocation-job/*"}}}]})


def role_statements(bucket_arn: str, kms: str | None) -> list[dict[str, Any]]:
    return [
        allow("ReadBatchInput", ["s3:GetObject"], [f"{bucket_arn}/{INPUT_KEYS}"]),
        {**allow("ListBatchInput", ["s3:ListBucket"], [bucket_arn]),
         "Condition": {"StringLike": {"s3:prefix": ["groups/*"]}}},
        allow("WriteBatchOutput", ["s3:PutObject"], [f"{bucket_arn}/{OUTPUT_KEYS}"]),
        *kms_statement(kms),
    ]


def worker_statements(bucket_arn: str, role_arn: str, job_arn: str, model_arns: list[str]) -> list[dict[str, Any]]:
    """The worker runs the batcher: its objects, Bedrock's batch API, and passing the role to Bedrock only."""
    return [
        allow("BatchObjects", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [f"{bucket_arn}/*"]),
        allow("ListBatchObjects", ["s3:ListBucket"], [bucket_arn]),
        allow("BedrockBatchJobs", ["bedrock:CreateModelInvocationJob", "bedrock:GetModelInvocationJob",
                                   "bedrock:StopModelInvocationJob"], sorted([job_arn, *model_arns])),
        {**allow("PassBatchRoleToBedrock", ["iam:PassRole"], [role_arn]),
         "Condition": {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}}},
    ]


def api_statements(bucket_arn: str) -> list[dict[str, Any]]:
    """The API stores uploads and chunks and reads files back (POST /v1/files, /v1/batches, content)."""
    return [allow("BatchObjects", ["s3:GetObject", "s3:PutObject"], [f"{bucket_arn}/*"])]


def batch_bucket(owner: pulumi.Resource, name: str, settings: dict[str, Any],
                 kms: pulumi.Input[str] | None) -> BatchParts:
    child = pulumi.ResourceOptions(parent=owner)
    bucket = aws.s3.Bucket(f"{name}-batch", force_destroy=False, opts=child)
    sse = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
        sse_algorithm="aws:kms" if kms else "AES256", kms_master_key_id=kms)
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-batch", bucket=bucket.id,
        rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=sse, bucket_key_enabled=bool(kms))],
        opts=child) if settings["batch_bucket_sse"] else None
    block = settings["batch_bucket_public_access_block"]
    public_access_block = aws.s3.BucketPublicAccessBlock(
        f"{name}-batch", bucket=bucket.id, block_public_acls=block, block_public_policy=block,
        ignore_public_acls=block, restrict_public_buckets=block, opts=child)
    policy = aws.s3.BucketPolicy(
        f"{name}-batch", bucket=bucket.id, policy=bucket.arn.apply(tls_only_policy),
        opts=pulumi.ResourceOptions(parent=owner, depends_on=[public_access_block])) \
        if settings["batch_bucket_tls_only"] else None
    lifecycle = aws.s3.BucketLifecycleConfiguration(
        f"{name}-batch", bucket=bucket.id,
        rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire-batch-objects", status="Enabled", filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=settings["batch_object_expiry_days"]),
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=1))],
        opts=child)
    caller = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=owner))
    region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=owner))
    role = aws.iam.Role(
        f"{name}-batch", description="Bedrock batch inference: read the batcher's input, write its output",
        assume_role_policy=pulumi.Output.all(caller.account_id, region.region).apply(lambda a: bedrock_trust(*a)),
        max_session_duration=3600, opts=child)
    role_policy = aws.iam.RolePolicy(
        f"{name}-batch", role=role.id,
        policy=pulumi.Output.all(bucket.arn, kms).apply(
            lambda a: json.dumps({"Version": "2012-10-17", "Statement": role_statements(a[0], a[1])})),
        opts=child)
    return BatchParts(bucket, encryption, public_access_block, policy, lifecycle, role, role_policy)


def job_arn(owner: pulumi.Resource) -> pulumi.Output[str]:
    """This account's Bedrock model-invocation jobs (what the worker may create, read and stop)."""
    caller = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=owner))
    region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=owner))
    return pulumi.Output.concat("arn:aws:bedrock:", region.region, ":", caller.account_id, ":model-invocation-job/*")
