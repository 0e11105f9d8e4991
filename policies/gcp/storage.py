"""Cloud Storage buckets (the batch bucket, the source bucket, and any other): uniform bucket-level
access with public access prevention enforced, and a lifecycle rule that deletes objects.

GCS encrypts every object at rest and serves only over TLS, so the AWS pack's encryption and
TLS-only rules have no GCP counterpart; what a bucket must still choose is who can read it (IAM only,
never public) and how long it keeps prompts and answers.
"""

from pulumi_policy import Severity

from skyrelay.policies.props import as_list, get, truthy
from skyrelay.policies.rule import ADVISORY, Rule, resource_policy

BUCKET = "gcp:storage/bucket:Bucket"

PRIVATE = Rule(
    id="gcp-storage-private",
    description="Cloud Storage buckets use uniform bucket-level access and enforce public access prevention.",
    severity=Severity.HIGH,
    checkov=("CKV_GCP_29", "CKV_GCP_114"),
    cloud="gcp",
    remediation='Set `uniform_bucket_level_access=True` and `public_access_prevention="enforced"`.',
)
LIFECYCLE = Rule(
    id="gcp-storage-lifecycle",
    description="Cloud Storage buckets have a lifecycle rule that deletes objects (data is not kept forever).",
    severity=Severity.MEDIUM,
    enforcement=ADVISORY,
    cloud="gcp",
    remediation='Add `lifecycle_rules=[{"action": {"type": "Delete"}, "condition": {"age": 8}}]` (days).',
)


def check_private(args):
    if not truthy(get(args.props, "uniformBucketLevelAccess")):
        yield "uniformBucketLevelAccess is off: object ACLs can grant access around IAM"
    if get(args.props, "publicAccessPrevention") != "enforced":
        yield "publicAccessPrevention is not enforced: the bucket can be made public"


def check_lifecycle(args):
    rules = as_list(get(args.props, "lifecycleRules"))
    if not any(get(r, "action.type") == "Delete" for r in rules):
        yield "no lifecycle rule deletes objects"


POLICIES = [resource_policy(PRIVATE, check_private, [BUCKET]), resource_policy(LIFECYCLE, check_lifecycle, [BUCKET])]
