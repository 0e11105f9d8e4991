"""Storage accounts: no shared-key (account key / SAS) access, TLS 1.2 or later, and no anonymous
blob access (on the account or a container: batch JSONL and packages are customer data). Azure
encrypts every account at rest; there is nothing to turn on."""

from pulumi_policy import Severity

from skyrelay.policies.props import get
from skyrelay.policies.rule import Rule, resource_policy

ACCOUNT = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
PUBLIC_LEVELS = ("Blob", "Container")
TLS_OK = ("TLS1_2", "TLS1_3")

SHARED_KEY = Rule(
    id="azure-storage-shared-key-off",
    description="Storage accounts disable shared-key access (identities only).",
    severity=Severity.HIGH,
    checkov=("CKV2_AZURE_40",),
    cloud="azure",
    remediation="Set `allow_shared_key_access=False` and grant Storage Blob Data roles to managed identities.",
)
MIN_TLS = Rule(
    id="azure-storage-min-tls",
    description="Storage accounts require TLS 1.2 or later.",
    severity=Severity.HIGH,
    checkov=("CKV_AZURE_44",),
    cloud="azure",
    remediation='Set `minimum_tls_version="TLS1_2"`.',
)

NO_PUBLIC_BLOBS = Rule(
    id="azure-storage-no-public-blobs",
    description="Storage accounts do not allow anonymous blob access, and no container is public.",
    severity=Severity.HIGH,
    checkov=("CKV_AZURE_190", "CKV_AZURE_34"),
    cloud="azure",
    remediation='Set `allow_blob_public_access=False` on the account and `public_access="None"` on its containers.',
)


def check_shared_key(args):
    # Unset means allowed (Azure's default), so only an explicit false passes.
    if get(args.props, "allowSharedKeyAccess", True) is not False:
        yield "allowSharedKeyAccess is not false"


def check_tls(args):
    version = get(args.props, "minimumTlsVersion")
    if version not in TLS_OK:
        yield f"minimumTlsVersion is {version or 'unset'}"


def check_public(args):
    if args.resource_type == ACCOUNT and get(args.props, "allowBlobPublicAccess") is True:
        yield "allowBlobPublicAccess is true"
    if args.resource_type == CONTAINER and get(args.props, "publicAccess") in PUBLIC_LEVELS:
        yield f"publicAccess is {get(args.props, 'publicAccess')}"


POLICIES = [
    resource_policy(SHARED_KEY, check_shared_key, [ACCOUNT]),
    resource_policy(MIN_TLS, check_tls, [ACCOUNT]),
    resource_policy(NO_PUBLIC_BLOBS, check_public, [ACCOUNT, CONTAINER]),
]
