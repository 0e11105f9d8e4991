"""Function Apps (`web:WebApp` of kind functionapp): HTTPS only, TLS 1.2+, a managed identity."""

from pulumi_policy import Severity

from skyrelay.policies.props import get, truthy
from skyrelay.policies.rule import Rule, resource_policy

WEB_APP = "azure-native:web:WebApp"

HTTPS_ONLY = Rule(
    id="azure-functionapp-https-only",
    description="Function Apps accept HTTPS only.",
    severity=Severity.HIGH,
    checkov=("CKV_AZURE_70",),
    cloud="azure",
    remediation="Set `https_only=True`.",
)
MIN_TLS = Rule(
    id="azure-functionapp-min-tls",
    description="Function Apps require TLS 1.2 or later.",
    severity=Severity.HIGH,
    checkov=("CKV_AZURE_145",),
    cloud="azure",
    remediation='Set `site_config={"min_tls_version": "1.2"}` (or "1.3").',
)
MANAGED_IDENTITY = Rule(
    id="azure-functionapp-managed-identity",
    description="Function Apps run with a managed identity, so they need no stored credentials.",
    severity=Severity.MEDIUM,
    cloud="azure",
    remediation='Set `identity={"type": "SystemAssigned"}` (or UserAssigned) and grant it roles.',
)


def is_function_app(args) -> bool:
    return "functionapp" in str(get(args.props, "kind", "")).lower()


def check_https(args):
    if is_function_app(args) and not truthy(get(args.props, "httpsOnly")):
        yield "httpsOnly is not true"


def _tls_ok(version) -> bool:
    try:
        return tuple(int(p) for p in str(version).split(".")) >= (1, 2)
    except ValueError:
        return False


def check_tls(args):
    version = get(args.props, "siteConfig.minTlsVersion")
    if is_function_app(args) and not _tls_ok(version):
        yield f"siteConfig.minTlsVersion is {version or 'unset'}"


def check_identity(args):
    kind = str(get(args.props, "identity.type", ""))
    if is_function_app(args) and "Assigned" not in kind:
        yield "no managed identity (identity.type)"


POLICIES = [
    resource_policy(HTTPS_ONLY, check_https, [WEB_APP]),
    resource_policy(MIN_TLS, check_tls, [WEB_APP]),
    resource_policy(MANAGED_IDENTITY, check_identity, [WEB_APP]),
]
