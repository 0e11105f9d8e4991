"""S3 buckets (the batch bucket, and any other): encryption at rest, a TLS-only bucket policy, every
public access blocked, and a lifecycle rule that expires objects. Each follows the resource graph (the
settings are resources of their own in pulumi-aws 7, or the bucket's deprecated inline arguments), so
these are stack rules."""

from collections.abc import Mapping

from pulumi_policy import Severity

from skyrelay.policies.aws.sqs import denies_plain_http
from skyrelay.policies.props import as_list, get, of_type, truthy
from skyrelay.policies.rule import ADVISORY, Rule, stack_policy

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
BUCKETS = (BUCKET, BUCKET_V2)
SSE = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
       "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
LIFECYCLE = ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
             "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2")
BLOCKS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")

ENCRYPTION = Rule(
    id="aws-s3-encryption",
    description="S3 buckets are encrypted at rest (SSE-S3 or SSE-KMS).",
    severity=Severity.HIGH,
    checkov=("CKV_AWS_145",),
    cloud="aws",
    kind="stack",
    remediation="Add an `aws.s3.BucketServerSideEncryptionConfiguration` for the bucket with a rule "
                '`apply_server_side_encryption_by_default={"sse_algorithm": "aws:kms"}` (or "AES256").',
)
TLS_ONLY = Rule(
    id="aws-s3-tls-only",
    description="Every S3 bucket has a policy that denies requests not sent over TLS.",
    severity=Severity.HIGH,
    cloud="aws",
    kind="stack",
    remediation='Attach an `aws.s3.BucketPolicy` with `{"Effect": "Deny", "Principal": "*", "Action": "s3:*", '
                '"Resource": [bucket.arn, bucket.arn + "/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}`.',
)
PUBLIC_ACCESS = Rule(
    id="aws-s3-public-access-block",
    description="Every S3 bucket blocks public access (all four settings of a public access block).",
    severity=Severity.HIGH,
    checkov=("CKV2_AWS_6",),
    cloud="aws",
    kind="stack",
    remediation="Add an `aws.s3.BucketPublicAccessBlock` for the bucket with block_public_acls, "
                "block_public_policy, ignore_public_acls and restrict_public_buckets all True.",
)
LIFECYCLE_RULE = Rule(
    id="aws-s3-lifecycle",
    description="S3 buckets expire their objects through an enabled lifecycle rule.",
    severity=Severity.LOW,
    enforcement=ADVISORY,
    checkov=("CKV2_AWS_61",),
    cloud="aws",
    kind="stack",
    remediation="Add an `aws.s3.BucketLifecycleConfiguration` with a rule `status=\"Enabled\"` and "
                "`expiration={\"days\": N}`.",
)


def _targets(resource, buckets: list) -> list:
    """The buckets a bucket-settings resource's `bucket` names (an Output reference, or the name)."""
    found = [d for d in resource.property_dependencies.get("bucket", ()) if d.resource_type in BUCKETS]
    if found:
        return found
    name = get(resource.props, "bucket")
    return [b for b in buckets if isinstance(name, str) and name and name in (get(b.props, "bucket"), b.name)]


def _covered(args, types, ok) -> tuple[list, set]:
    buckets = of_type(args.resources, *BUCKETS)
    covered = set()
    for r in of_type(args.resources, *types):
        if ok(r.props):
            covered.update(b.urn for b in _targets(r, buckets))
    return buckets, covered


def _sse_rules(props) -> bool:
    return any(get(rule, "applyServerSideEncryptionByDefault.sseAlgorithm")
               for rule in as_list(get(props, "rules")) if isinstance(rule, Mapping))


def check_encryption(args):
    buckets, covered = _covered(args, SSE, _sse_rules)
    for b in buckets:
        inline = get(b.props, "serverSideEncryptionConfiguration.rule.applyServerSideEncryptionByDefault.sseAlgorithm")
        if b.urn not in covered and not inline:
            yield "no server-side encryption configuration for the bucket", b.urn


def check_tls(args):
    buckets, covered = _covered(args, (POLICY,), lambda p: denies_plain_http(get(p, "policy")))
    for b in buckets:
        if b.urn not in covered and not denies_plain_http(get(b.props, "policy")):
            yield "no bucket policy denies aws:SecureTransport=false", b.urn


def check_public_access(args):
    buckets, covered = _covered(args, (PUBLIC_ACCESS_BLOCK,), lambda p: all(truthy(get(p, k)) for k in BLOCKS))
    for b in buckets:
        if b.urn not in covered:
            yield f"no public access block with all of {', '.join(BLOCKS)} true", b.urn


def _expires(rule) -> bool:
    return isinstance(rule, Mapping) and str(get(rule, "status", "Enabled")) == "Enabled" and bool(
        get(rule, "expiration.days") or get(rule, "expiration.date") or get(rule, "expiration.0.days"))


def check_lifecycle(args):
    buckets, covered = _covered(args, LIFECYCLE, lambda p: any(_expires(r) for r in as_list(get(p, "rules"))))
    for b in buckets:
        inline = any(truthy(get(r, "enabled")) and get(r, "expiration") for r in as_list(get(b.props, "lifecycleRules"))
                     if isinstance(r, Mapping))
        if b.urn not in covered and not inline:
            yield "no enabled lifecycle rule expires the bucket's objects", b.urn


POLICIES = [
    stack_policy(ENCRYPTION, check_encryption),
    stack_policy(TLS_ONLY, check_tls),
    stack_policy(PUBLIC_ACCESS, check_public_access),
    stack_policy(LIFECYCLE_RULE, check_lifecycle),
]
