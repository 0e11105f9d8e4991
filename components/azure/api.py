"""JobsApi for Azure: API Management in front of AsyncJobs' Function App (its `api` HTTP function).

- The service: Consumption by default (a SKU knob), TLS 1.0/1.1 and SSL 3.0 off.
- One API (`/v1`) with the operations POST /v1/jobs, GET /v1/jobs, GET|DELETE /v1/jobs/{id} and POST
  /v1/chat/completions; every operation requires a subscription key (`x-api-key`, the header the
  runtime reads too) and, optionally, a JWT (`validate-jwt`). The backend is the function, called
  with its host key from a secret named value (and a managed-identity token when asked): never
  anonymous. Bodies over the limit get 413 at the edge.
- One Product per tier with `rate-limit` and `quota` from the core tier table, and one Subscription
  per tenant (its key is the tenant's API key). The router config with those keys' sha256 digests
  is written to AsyncJobs' Key Vault (`router-config`), which CONFIG_JSON references: the runtime
  accepts exactly the keys the edge issued, and no key reaches a setting.

What each SKU can enforce is in components/azure/README.md.
"""

from collections.abc import Sequence
from typing import Any, Required, TypedDict

import pulumi
import pulumi_azure_native as azure_native

from skyrelay.components.api_common import (
    TierLimits,
    parse_tier_specs,
    tier_limits_from_table,
    with_tenant_key_hashes,
)
from skyrelay.components.azure import api_policies
from skyrelay.components.azure.defaults import API
from skyrelay.components.defaults import resolve
from skyrelay.errors import ConfigError

SKUS = ("Consumption", "Developer", "Basic", "Standard", "Premium", "BasicV2", "StandardV2")
BACKEND_AUTH = ("function_key", "managed_identity")
# (operation id, method, URL template under /v1)
OPERATIONS = (
    ("create-job", "POST", "/jobs"),
    ("list-jobs", "GET", "/jobs"),
    ("get-job", "GET", "/jobs/{id}"),
    ("cancel-job", "DELETE", "/jobs/{id}"),
    ("chat-completions", "POST", "/chat/completions"),
)
INSECURE_PROTOCOLS = ("Tls10", "Tls11", "Ssl30")
PROTOCOL_KEY = "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.{side}Protocols.{p}"
ROUTER_CONFIG_SECRET = "router-config"
API_ID = "skyrelay-v1"


class JwtArgs(TypedDict, total=False):
    openid_config_url: Required[str]
    """The issuer's OpenID configuration URL (https)."""
    audience: Required[str]
    """The audience the token must carry."""
    issuer: str
    """The issuer the token must carry (default: any the configuration names)."""


class JobsApiArgs(TypedDict, total=False):
    resource_group_name: Required[pulumi.Input[str]]
    """The resource group. Required."""
    function_app_name: Required[pulumi.Input[str]]
    """AsyncJobs' Function App (`jobs.function_app.name`). Required."""
    function_app_hostname: Required[pulumi.Input[str]]
    """Its default host name (`jobs.function_app_hostname`). Required."""
    location: str
    """Azure region (default westeurope)."""
    sku: str
    """API Management SKU: Consumption (default), Developer, Basic, Standard, Premium, BasicV2, StandardV2."""
    tiers: Sequence[TierLimits]
    """Products to create (default: every tier of the core tier table)."""
    tenants: Sequence[str]
    """Subscriptions to create, `<tier>:<tenant>` (default: one `<tier>:<tier>` per tier)."""
    router_config: pulumi.Input[str]
    """The runtime's router config JSON; written with the subscription keys' digests to `config_vault_name`
    (default: none, no `router-config` secret is written)."""
    config_vault_name: pulumi.Input[str]
    """AsyncJobs' Key Vault (`jobs.key_vault.name`): receives the `router-config` secret (default: none)."""
    jwt: JwtArgs
    """Also require a JWT: {"openid_config_url", "audience", "issuer"?} (default: subscription keys only)."""
    identity_client_id: pulumi.Input[str]
    """For `backend_auth: managed_identity`: the identity APIM's token is for (default: system identity)."""
    backend_audience: str
    """For `backend_auth: managed_identity`: the token's resource, the function's app id URI (default: none)."""
    overrides: dict[str, Any]
    """Changes to the defaults table (see the component README)."""


# Properties the SDK fills in on every service that a Consumption service has no use for (no developer
# or legacy portal, no NAT gateway): they are left out rather than sent.
CONSUMPTION_UNSET = ("developerPortalStatus", "legacyPortalStatus", "natGatewayState",
                     "developer_portal_status", "legacy_portal_status", "nat_gateway_state")


def _without_sdk_defaults(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult:
    props = {k: v for k, v in args.props.items() if k not in CONSUMPTION_UNSET}
    return pulumi.ResourceTransformationResult(props, args.opts)


def check_sku(sku: Any, capacity: Any) -> tuple[str, int]:
    if sku not in SKUS:
        raise ConfigError("JobsApi.sku", f"must be one of {', '.join(SKUS)}, got {sku!r}")
    capacity = 0 if sku == "Consumption" else max(1, int(capacity or 1))
    return sku, capacity


class JobsApi(pulumi.ComponentResource):
    """API Management service, API and operations, tier products and tenant subscriptions. Children are attributes."""

    service: azure_native.apimanagement.ApiManagementService
    """The API Management service."""
    api: azure_native.apimanagement.Api
    """The jobs API (/v1)."""
    url: pulumi.Output[str]
    """The gateway URL of the API."""

    def __init__(self, name: str, args: JobsApiArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("skyrelay:azure:JobsApi", name, None, opts)
        args = args or {}
        for key in ("resource_group_name", "function_app_name", "function_app_hostname"):
            if not args.get(key):
                raise ConfigError(f"JobsApi.{key}", "required")
        settings = resolve("JobsApi", API, args.get("overrides"))
        sku, capacity = check_sku(args.get("sku", settings["sku"]), settings["sku_capacity"])
        if settings["backend_auth"] not in BACKEND_AUTH:
            raise ConfigError("JobsApi.overrides.backend_auth", f"must be one of {', '.join(BACKEND_AUTH)} (never anonymous)")
        if not isinstance(settings["max_body_bytes"], int) or settings["max_body_bytes"] < 1024:
            raise ConfigError("JobsApi.overrides.max_body_bytes", "must be a whole number of bytes >= 1024")
        tiers = list(args.get("tiers") or tier_limits_from_table())
        tier_names = [t["name"] for t in tiers]
        tenants = parse_tier_specs(args.get("tenants") or [f"{t}:{t}" for t in tier_names], tier_names,
                                   "JobsApi.tenants", "tenant")
        jwt = args.get("jwt")
        if jwt is not None and not (jwt.get("openid_config_url") and jwt.get("audience")):
            raise ConfigError("JobsApi.jwt", "needs openid_config_url and audience")
        rg, location = args["resource_group_name"], args.get("location", "westeurope")
        child = pulumi.ResourceOptions(parent=self)

        self.service = azure_native.apimanagement.ApiManagementService(
            f"{name}-apim",
            resource_group_name=rg,
            location=location,
            publisher_email=settings["publisher_email"],
            publisher_name=settings["publisher_name"],
            sku=azure_native.apimanagement.ApiManagementServiceSkuPropertiesArgs(name=sku, capacity=capacity),
            identity=azure_native.apimanagement.ApiManagementServiceIdentityArgs(type="SystemAssigned"),
            # Consumption rejects these custom properties ("not supported in SkuType Consumption") and
            # has TLS 1.0/1.1 off already (the default of every service created since April 2018).
            custom_properties=None if sku == "Consumption" else {
                PROTOCOL_KEY.format(side=side, p=p): "False" for side in ("", "Backend.") for p in INSECURE_PROTOCOLS},
            opts=pulumi.ResourceOptions(parent=self, transformations=[_without_sdk_defaults] if sku == "Consumption" else None),
        )
        service = self.service.name
        backend_url = pulumi.Output.concat("https://", args["function_app_hostname"], "/v1")
        host_keys = azure_native.web.list_web_app_host_keys_output(
            name=args["function_app_name"], resource_group_name=rg, opts=pulumi.InvokeOutputOptions(parent=self))
        self.function_key = azure_native.apimanagement.NamedValue(
            f"{name}-function-key",
            resource_group_name=rg,
            service_name=service,
            named_value_id=api_policies.FUNCTION_KEY_NAMED_VALUE,
            display_name=api_policies.FUNCTION_KEY_NAMED_VALUE,
            secret=True,
            value=pulumi.Output.secret(host_keys.function_keys.apply(lambda k: (k or {}).get("default"))),
            opts=child,
        )
        self.backend = azure_native.apimanagement.Backend(
            f"{name}-backend",
            resource_group_name=rg,
            service_name=service,
            backend_id=api_policies.BACKEND_ID,
            protocol="http",
            url=backend_url,
            title="skyrelay Function App",
            opts=child,
        )
        self.api = azure_native.apimanagement.Api(
            f"{name}-api",
            resource_group_name=rg,
            service_name=service,
            api_id=API_ID,
            display_name="skyrelay async AI API",
            path="v1",
            protocols=["https"],
            service_url=backend_url,
            subscription_required=settings["subscription_required"],
            subscription_key_parameter_names=azure_native.apimanagement.SubscriptionKeyParameterNamesContractArgs(
                header="x-api-key", query="subscription-key"),
            opts=child,
        )
        api_child = pulumi.ResourceOptions(parent=self, depends_on=[self.api])
        self.operations = {
            op_id: azure_native.apimanagement.ApiOperation(
                f"{name}-{op_id}",
                resource_group_name=rg,
                service_name=service,
                api_id=API_ID,
                operation_id=op_id,
                display_name=f"{method} /v1{template}",
                method=method,
                url_template=template,
                template_parameters=[azure_native.apimanagement.ParameterContractArgs(
                    name="id", type="string", required=True)] if "{id}" in template else None,
                opts=api_child,
            )
            for op_id, method, template in OPERATIONS
        }
        self.api_policy = azure_native.apimanagement.ApiPolicy(
            f"{name}-api-policy",
            resource_group_name=rg,
            service_name=service,
            api_id=API_ID,
            policy_id="policy",
            format="rawxml",
            value=api_policies.api_policy(settings["max_body_bytes"], settings["backend_auth"], jwt,
                                          args.get("identity_client_id"), args.get("backend_audience")),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.api, self.function_key, self.backend]),
        )
        self.products: dict[str, azure_native.apimanagement.Product] = {}
        self.product_policies: dict[str, azure_native.apimanagement.ProductPolicy] = {}
        self.product_apis = {}
        for tier in tiers:
            tid = tier["name"]
            product = azure_native.apimanagement.Product(
                f"{name}-{tid}",
                resource_group_name=rg,
                service_name=service,
                product_id=tid,
                display_name=f"skyrelay {tid}",
                description=f"{tid} tier: {tier['rpm']} requests/minute, {tier['monthly_request_quota']} requests/month",
                subscription_required=True,
                approval_required=True,
                subscriptions_limit=None,
                state="published",
                opts=child,
            )
            self.products[tid] = product
            self.product_apis[tid] = azure_native.apimanagement.ProductApi(
                f"{name}-{tid}-api", resource_group_name=rg, service_name=service, product_id=tid, api_id=API_ID,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[product, self.api]))
            self.product_policies[tid] = azure_native.apimanagement.ProductPolicy(
                f"{name}-{tid}-policy",
                resource_group_name=rg,
                service_name=service,
                product_id=tid,
                policy_id="policy",
                format="rawxml",
                value=api_policies.product_policy(tier["rpm"], tier["monthly_request_quota"],
                                                  settings["rate_limit_period_s"], settings["quota_period_s"]),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[product]),
            )
        self.subscriptions: dict[str, azure_native.apimanagement.Subscription] = {
            tenant: azure_native.apimanagement.Subscription(
                f"{name}-sub-{tenant}",
                resource_group_name=rg,
                service_name=service,
                sid=tenant,
                display_name=f"{tenant} ({tier})",
                scope=pulumi.Output.concat(self.service.id, "/products/", tier),  # the product's ARM id
                state="active",
                allow_tracing=settings["tracing"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.product_apis[tier]]),
            )
            for tier, tenant in tenants
        }
        self.router_config_secret = None
        if args.get("router_config") is not None and args.get("config_vault_name") is not None:
            keys = [azure_native.apimanagement.list_subscription_secrets_output(
                resource_group_name=rg, service_name=service, sid=sub.name,
                opts=pulumi.InvokeOutputOptions(parent=self)).primary_key for sub in self.subscriptions.values()]
            value = pulumi.Output.all(args["router_config"], *keys).apply(
                lambda a: with_tenant_key_hashes(a[0], [(tier, tenant, k) for (tier, tenant), k in zip(tenants, a[1:], strict=True)]))
            self.router_config_secret = azure_native.keyvault.Secret(
                f"{name}-router-config",
                resource_group_name=rg,
                vault_name=args["config_vault_name"],
                secret_name=ROUTER_CONFIG_SECRET,
                properties=azure_native.keyvault.SecretPropertiesArgs(
                    value=pulumi.Output.secret(value), content_type="application/json"),
                opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["properties"]),
            )
        self.url = self.service.gateway_url.apply(lambda u: f"{u}/v1" if u else u)
        self.register_outputs({
            "service": self.service,
            "api": self.api,
            "url": self.url,
            "product_ids": {k: v.id for k, v in self.products.items()},
            "subscription_ids": {k: v.id for k, v in self.subscriptions.items()},
        })
