"""API Management: every API's operations require a subscription key or a validated JWT (never
anonymous), and every product carries a rate limit and a quota (the tier's edge limits).

Stack rules: the API, its policy, the product and the product's policy are separate resources."""

from pulumi_policy import Severity

from skyrelay.policies.props import get, of_type
from skyrelay.policies.rule import Rule, stack_policy

API = "azure-native:apimanagement:Api"
API_POLICY = "azure-native:apimanagement:ApiPolicy"
OPERATION_POLICY = "azure-native:apimanagement:ApiOperationPolicy"
PRODUCT = "azure-native:apimanagement:Product"
PRODUCT_POLICY = "azure-native:apimanagement:ProductPolicy"

OPERATION_AUTH = Rule(
    id="azure-apim-operation-auth",
    description="API Management APIs require a subscription key, or validate a JWT, on every operation.",
    severity=Severity.CRITICAL,
    kind="stack",
    cloud="azure",
    remediation="Leave `subscription_required` on (skyrelay's JobsApi does), or add `<validate-jwt>` to the API's policy.",
)
PRODUCT_LIMITS = Rule(
    id="azure-apim-product-limits",
    description="API Management products have a rate-limit and a quota policy.",
    severity=Severity.HIGH,
    kind="stack",
    cloud="azure",
    remediation="Add a ProductPolicy with `<rate-limit calls=... renewal-period=...>` and `<quota calls=... "
                "renewal-period=...>` (skyrelay's JobsApi takes them from the tier table).",
)


def _ids(resource, key: str) -> set[str]:
    """The ids a child may name its parent by: the id property, the logical name, the ARM name."""
    return {str(v) for v in (get(resource.props, key), resource.name, get(resource.props, "name")) if v}


def check_operation_auth(args):
    policies = of_type(args.resources, API_POLICY, OPERATION_POLICY)
    for api in of_type(args.resources, API):
        if get(api.props, "subscriptionRequired", True) is not False:
            continue  # APIM's default requires a subscription
        names = _ids(api, "apiId")
        jwt = any(str(get(p.props, "apiId")) in names and "<validate-jwt" in str(get(p.props, "value", ""))
                  for p in policies)
        if not jwt:
            yield "subscriptionRequired is false and no policy of the API validates a JWT", api.urn


def check_product_limits(args):
    policies = of_type(args.resources, PRODUCT_POLICY)
    for product in of_type(args.resources, PRODUCT):
        names = _ids(product, "productId")
        xml = " ".join(str(get(p.props, "value", "")) for p in policies if str(get(p.props, "productId")) in names)
        missing = [tag for tag in ("rate-limit", "quota") if f"<{tag}" not in xml]
        if missing:
            yield f"product has no {' or '.join(missing)} policy", product.urn


POLICIES = [
    stack_policy(OPERATION_AUTH, check_operation_auth),
    stack_policy(PRODUCT_LIMITS, check_product_limits),
]
