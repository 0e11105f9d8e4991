"""JobsApi: API Gateway in front of the API Cloud Run service (the runtime's ASGI app).

- The gateway serves an OpenAPI 2.0 document rendered from the shared routes (openapi.py), with
  API-key security, optional JWT and `x-google-management` quotas, the coarse per-consumer-project
  ceiling API Gateway can enforce. Exact per-tenant tiers are the runtime limiter's (docs/gcp.md).
- The API service is invokable only by the gateway's service account (roles/run.invoker), and the
  gateway calls it with an ID token for its URL (`jwt_audience`).
- An ApiConfig is immutable (terraform-provider-google#8532): it has a name prefix, so each change
  is a new config created before the old one is deleted, and the gateway switches over in between.
- The generated API keys are Google API keys restricted to this gateway's managed service; their
  sha256 digests join the tenant named after each key's tier in the router config, as on AWS.
"""

import base64
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import pulumi
import pulumi_gcp as gcp

from skyrelay import deployment as contract
from skyrelay.components.api_common import ROUTES, parse_tier_specs, tier_limits_from_table, with_key_hashes
from skyrelay.components.defaults import resolve
from skyrelay.components.gcp import services as apis
from skyrelay.components.gcp.cloud_run import RuntimeSource, invoker, runtime_source, service, service_name
from skyrelay.components.gcp.defaults import API, ASYNC_JOBS
from skyrelay.components.gcp.identities import account_id
from skyrelay.components.gcp.openapi import document_text, openapi_document
from skyrelay.errors import ConfigError

__all__ = ["ROUTES", "JobsApi", "JobsApiArgs", "TierRpm", "tier_limits"]

MAX_API_TIMEOUT_S = 3600  # Cloud Run's request timeout ceiling


class TierRpm(TypedDict):
    name: str
    """Tier name."""
    rpm: int
    """Requests per minute of the tier."""


class JobsApiArgs(TypedDict, total=False):
    location: str
    """Region of the gateway and the API service (default europe-west1)."""
    project: str
    """Project id (default: the provider's project)."""
    environment: Mapping[str, pulumi.Input[str]]
    """Environment of the API service (AsyncJobs.environment: store, queues, OIDC; no secrets; default: none)."""
    secret_environment: Mapping[str, pulumi.Input[str]]
    """Env name -> Secret Manager secret id, mounted as secret references (AsyncJobs.secret_environment; default: none)."""
    service_account_email: pulumi.Input[str]
    """The API service's account (AsyncJobs.api_account.email; default: a new account without grants)."""
    image: pulumi.Input[str]
    """The runtime image: the URI the source build writes (with `source_location`) or a prebuilt image (default: build one)."""
    source_location: pulumi.Input[str]
    """gs://bucket/object of the packaged source to build (AsyncJobs.source; default: package and upload one)."""
    build_service_account: pulumi.Input[str]
    """Cloud Build's account for the source build, projects/<p>/serviceAccounts/<email> (with `source_location`; default: Cloud Build's default)."""
    router_config: pulumi.Input[str]
    """The runtime's router config as JSON; JobsApi adds each generated key's sha256 (default: CONFIG_JSON unset)."""
    tiers: Sequence[TierRpm]
    """Tiers ({name, rpm}) the gateway's quota ceiling is taken from (default: every tier of the core table)."""
    api_keys: Sequence[str]
    """API keys to create, as `<tier>:<key name>` (default: none)."""
    jwt_issuer: str
    """Also require a JWT from this issuer on every operation (default: API key only)."""
    jwt_jwks_uri: str
    """The issuer's JWKS URI (required with `jwt_issuer`; default: none)."""
    jwt_audiences: Sequence[str]
    """Accepted JWT audiences (default: the gateway's service name)."""
    timeout_seconds: int
    """API service request timeout, 1-3600 (default 60)."""
    overrides: dict[str, Any]
    """Changes to the defaults table (see the component README)."""


def tier_limits(tiers=None) -> list[TierRpm]:
    """{name, rpm} for each tier of a tier table (default: the core table)."""
    return [{"name": t["name"], "rpm": t["rpm"]} for t in tier_limits_from_table(tiers)]


class JobsApi(pulumi.ComponentResource):
    """API Gateway (API, config, gateway), the API Cloud Run service and API keys. Children are attributes."""

    api: gcp.apigateway.Api
    """The API Gateway API (its managed service is what the keys are restricted to)."""
    api_config: gcp.apigateway.ApiConfig
    """The current ApiConfig (name prefix, replaced create-before-destroy)."""
    gateway: gcp.apigateway.Gateway
    """The regional gateway."""
    service: gcp.cloudrunv2.Service
    """The API Cloud Run service (invoker: the gateway's account only)."""
    url: pulumi.Output[str]
    """The gateway's URL."""

    def __init__(self, name: str, args: JobsApiArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("skyrelay:gcp:JobsApi", name, None, opts)
        args = args or {}
        settings = resolve("JobsApi", API, args.get("overrides"))
        timeout = args.get("timeout_seconds", 60)
        if isinstance(timeout, bool) or not isinstance(timeout, int) or not 1 <= timeout <= MAX_API_TIMEOUT_S:
            raise ConfigError("JobsApi.timeout_seconds", f"must be 1-{MAX_API_TIMEOUT_S} (Cloud Run), got {timeout!r}")
        if args.get("jwt_issuer") and not args.get("jwt_jwks_uri"):
            raise ConfigError("JobsApi.jwt_jwks_uri", "required with jwt_issuer")
        tiers = list(args.get("tiers") or tier_limits())
        keys = parse_tier_specs(args.get("api_keys", ()), [t["name"] for t in tiers])
        location = args.get("location") or "europe-west1"
        project_arg = args.get("project")
        info = gcp.organizations.get_project_output(project_id=project_arg, opts=pulumi.InvokeOptions(parent=self))
        project = project_arg or info.project_id
        self.services = apis.Services(self, name, project_arg, (apis.RUN, apis.IAM, apis.GATEWAY,
                                      apis.SERVICE_MANAGEMENT, apis.SERVICE_CONTROL, "apikeys.googleapis.com",
                                      apis.STORAGE, apis.BUILD, apis.REGISTRY), ASYNC_JOBS["enable_apis"].value)

        def account(role: str, what: str) -> gcp.serviceaccount.Account:
            return gcp.serviceaccount.Account(f"{name}-{role}", account_id=account_id(name, role), project=project_arg,
                                              display_name=f"skyrelay {name}: {what}", opts=self.services.after(apis.IAM))

        self.gateway_account = account("gateway", "API Gateway backend identity")
        self.service_account = None
        email = args.get("service_account_email")
        if email is None:
            self.service_account = account("api", "jobs API (Cloud Run)")
            email = self.service_account.email

        self.source = self._source(name, args, location, project, settings)
        self.api = gcp.apigateway.Api(f"{name}-api", api_id=f"{name}-api", project=project_arg,
                                      display_name=f"skyrelay {name}", opts=self.services.after(apis.GATEWAY))
        self.api_keys: dict[str, gcp.projects.ApiKey] = {
            key_name: gcp.projects.ApiKey(
                f"{name}-key-{key_name}", name=f"{name}-{key_name}"[:63], project=project_arg,
                display_name=f"skyrelay {tier}: {key_name}",
                restrictions=gcp.projects.ApiKeyRestrictionsArgs(api_targets=[
                    gcp.projects.ApiKeyRestrictionsApiTargetArgs(service=self.api.managed_service)]),
                opts=self.services.after("apikeys.googleapis.com"),
            )
            for tier, key_name in keys
        }
        environment = {**dict(args.get("environment", {})), contract.MAX_BODY_BYTES: str(settings["max_body_bytes"])}
        if args.get("router_config") is not None:
            key_tiers = [tier for tier, _ in keys]
            environment[contract.CONFIG_JSON] = pulumi.Output.secret(
                pulumi.Output.all(args["router_config"], *(k.key_string for k in self.api_keys.values())).apply(
                    lambda a: with_key_hashes(a[0], zip(key_tiers, a[1:], strict=True))))
        api_name = service_name(name, "api")
        self.service = service(
            self, f"{name}-service", name=api_name, role="api", location=location, project=project_arg,
            source=self.source, service_account=email, ingress=settings["api_ingress"], timeout_s=timeout,
            concurrency=settings["api_concurrency"], min_instances=settings["api_min_instances"],
            max_instances=settings["api_max_instances"], cpu=settings["api_cpu"], memory=settings["api_memory"],
            env=environment, secret_env=dict(args.get("secret_environment", {})), settings=settings,
            services=self.services,
        )
        self.service_invoker = invoker(self, f"{name}-invoker-gateway", self.service, self.gateway_account.member)

        jwt = None
        if args.get("jwt_issuer"):
            jwt = {"issuer": args["jwt_issuer"], "jwks_uri": args["jwt_jwks_uri"],
                   "audiences": list(args.get("jwt_audiences", ()))}
        self.openapi = self.service.uri.apply(lambda uri: document_text(openapi_document(
            title=f"skyrelay {name}", backend_url=uri, tiers=tiers, metric=settings["quota_metric"],
            deadline_s=settings["backend_deadline_seconds"], api_key_required=settings["api_key_required"], jwt=jwt)))
        self.api_config = gcp.apigateway.ApiConfig(
            f"{name}-config",
            api=self.api.api_id,
            api_config_id_prefix=f"{name}-",
            project=project_arg,
            display_name=f"skyrelay {name}",
            openapi_documents=[gcp.apigateway.ApiConfigOpenapiDocumentArgs(
                document=gcp.apigateway.ApiConfigOpenapiDocumentDocumentArgs(
                    path="openapi.yaml",
                    contents=self.openapi.apply(lambda t: base64.b64encode(t.encode()).decode())))],
            gateway_config=gcp.apigateway.ApiConfigGatewayConfigArgs(
                backend_config=gcp.apigateway.ApiConfigGatewayConfigBackendConfigArgs(
                    google_service_account=self.gateway_account.email)),
            # Immutable: a change is a new config (new id from the prefix) created before the old is deleted.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=False,
                                        replace_on_changes=["openapiDocuments", "gatewayConfig"],
                                        depends_on=[self.service_invoker]),
        )
        self.gateway = gcp.apigateway.Gateway(
            f"{name}-gateway", gateway_id=f"{name}-gateway", api_config=self.api_config.id, region=location,
            project=project_arg, display_name=f"skyrelay {name}", opts=pulumi.ResourceOptions(parent=self),
        )
        # The gateway's own managed service must be on in the consumer project for its API keys.
        self.managed_service = gcp.projects.Service(
            f"{name}-managed-service", project=project_arg, service=self.api.managed_service,
            disable_on_destroy=False, opts=pulumi.ResourceOptions(parent=self, depends_on=[self.api_config]),
        )
        self.url = pulumi.Output.concat("https://", self.gateway.default_hostname)
        self.register_outputs({
            "api": self.api, "api_config": self.api_config, "gateway": self.gateway, "service": self.service,
            "url": self.url, "service_url": self.service.uri, "managed_service": self.api.managed_service,
            "api_key_values": pulumi.Output.secret({k: v.key_string for k, v in self.api_keys.items()}),
        })

    def _source(self, name, args, location, project, settings) -> RuntimeSource:
        if args.get("source_location"):
            return RuntimeSource(None, None, None, [], args.get("build_service_account"), args["image"],
                                 f"{location}-docker.pkg.dev/{ASYNC_JOBS['python_base_image'].value}",
                                 args["source_location"])
        if args.get("image"):
            return RuntimeSource(None, None, None, [], None, args["image"], None, None)
        from skyrelay.components.gcp.packaging import default_source_path  # builds the zip: only when needed

        build_sa = gcp.serviceaccount.Account(f"{name}-build", account_id=account_id(name, "build"),
                                              project=args.get("project"), display_name=f"skyrelay {name}: build",
                                              opts=self.services.after(apis.IAM))
        source = runtime_source(self, name, location=location, project=project, source_path=default_source_path(),
                                image=None, build_sa=build_sa, settings=resolve("JobsApi", ASYNC_JOBS, None),
                                services=self.services)
        source.grants.append(gcp.projects.IAMMember(f"{name}-build-logWriter", project=project,
                                                    role="roles/logging.logWriter", member=build_sa.member,
                                                    opts=pulumi.ResourceOptions(parent=self)))
        return source
