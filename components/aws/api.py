"""JobsApi: a REST (v1) API Gateway in front of the API Lambda (the runtime's ASGI app via mangum).

REST v1 because usage plans and API keys exist only there: one usage plan per tier, its throttle and
monthly quota taken from the core tier table, so the edge enforces the same numbers as the runtime
limiter. Every method requires an API key (and, with `jwt_authorizer`, a Cognito JWT with
15-minute tokens). The stage has JSON access logs with retention, X-Ray, INFO execution logging,
data trace off and per-stage method throttles; a regional WAF web ACL limits the request body size.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import pulumi
import pulumi_aws as aws

from skyrelay import deployment as contract
from skyrelay.components.api_common import (
    TierLimits,
    key_digests_env,
    parse_tier_specs,
    tier_limits_from_table,
    with_key_hashes,
)
from skyrelay.components.aws import api_keys as keys
from skyrelay.components.aws.api_auth import jwt_authorizer
from skyrelay.components.aws.api_keys import usage_plan_limits
from skyrelay.components.aws.api_routes import ROUTES, routes
from skyrelay.components.aws.api_stage import ACCESS_LOG_FORMAT, stage
from skyrelay.components.aws.api_waf import WAF_MAX_INSPECTION_BYTES, check_max_body_bytes, web_acl
from skyrelay.components.aws.code_path import default_code_path
from skyrelay.components.aws.defaults import API, ASYNC_JOBS
from skyrelay.components.aws.warm_pool import WarmPoolArgs, check_warm_pool, warm_pool
from skyrelay.components.aws.worker import build_function, function_name
from skyrelay.components.defaults import resolve
from skyrelay.errors import ConfigError

__all__ = [
    "ACCESS_LOG_FORMAT", "API_HANDLER", "ROUTER_CONFIG_ENV", "ROUTES", "WAF_MAX_INSPECTION_BYTES", "JobsApi",
    "JobsApiArgs", "TierLimits", "tier_limits_from_table", "usage_plan_limits", "with_key_hashes",
]

API_HANDLER = "skyrelay.runtime.platforms.aws_lambda.api.handler"
ROUTER_CONFIG_ENV = contract.CONFIG_JSON


class JobsApiArgs(TypedDict, total=False):
    code_path: str
    """Path of the Lambda zip (default: built from the installed skyrelay.runtime)."""
    environment: Mapping[str, pulumi.Input[str]]
    """Environment of the API Lambda (AsyncJobs.environment: table, queues, secret ARNs; no secrets; default: none)."""
    policy_statements: pulumi.Input[str]
    """JSON list of IAM statements the API Lambda needs (AsyncJobs.api_statements()), least privilege (default: `[]`)."""
    tiers: Sequence[TierLimits]
    """Usage plans to create (default: every tier of the core tier table)."""
    api_keys: Sequence[str]
    """Names of API keys to create, as `<tier>:<key name>`; each joins its tier's usage plan (default: none)."""
    router_config: pulumi.Input[str]
    """The runtime's router config as JSON. JobsApi adds the sha256 of every API key it creates to
    the tenant named after the key's tier (`tenants[].api_keys`) and sets the result on the API
    Lambda as CONFIG_JSON (a secret output), so the runtime accepts the generated keys. Secret: it may hold
    provider endpoints and tenants. Default: none (CONFIG_JSON is not set; the generated keys' digests then
    travel in KEY_DIGESTS, which the runtime merges into the config it loads, e.g. the zip's file)."""
    timeout_seconds: int
    """API Lambda timeout, at most 29 (the REST API integration limit; default 29)."""
    memory_mb: int
    """API Lambda memory (default 512)."""
    reserved_concurrency: int
    """API Lambda reserved concurrency (default 50)."""
    warm_pool: WarmPoolArgs
    """The API Lambda's warm pool on its `live` alias, which the integrations call (default: the alias
    only, no provisioned concurrency; warm_pool.py)."""
    stage_rate_limit: float
    """Stage-wide steady-state requests per second, across all keys (default 100)."""
    stage_burst_limit: int
    """Stage-wide burst (default 200)."""
    jwt_authorizer: bool
    """Also require a Cognito-issued JWT (15-minute tokens) on every method (default False)."""
    user_pool_arn: pulumi.Input[str]
    """Use this existing Cognito user pool for the JWT authorizer instead of creating one (default: a new pool)."""
    kms_key_arn: pulumi.Input[str]
    """Customer KMS key for the log groups (default: CloudWatch Logs' own encryption)."""
    overrides: dict[str, Any]
    """Changes to the defaults table (see the component README)."""


class JobsApi(pulumi.ComponentResource):
    """REST API, API Lambda, stage, usage plans and keys, WAF and optional JWT authorizer. Children are attributes."""

    # Annotated attributes are the schema outputs; other children are plain attributes.
    rest_api: aws.apigateway.RestApi
    """The REST (v1) API."""
    stage: aws.apigateway.Stage
    """The deployed stage (access logs, X-Ray, throttles, WAF)."""
    function: aws.lambda_.Function
    """The API Lambda (the runtime's ASGI app)."""
    url: pulumi.Output[str]
    """The stage's invoke URL."""

    def __init__(self, name: str, args: JobsApiArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("skyrelay:aws:JobsApi", name, None, opts)
        args = args or {}
        settings = resolve("JobsApi", API, args.get("overrides"))
        fn_settings = resolve("JobsApi.function", ASYNC_JOBS, None)
        fn_settings["log_retention_days"] = settings["access_log_retention_days"]
        timeout = args.get("timeout_seconds", 29)
        if not isinstance(timeout, int) or not 1 <= timeout <= 29:
            raise ConfigError("JobsApi.timeout_seconds", f"must be 1-29 (the REST API integration limit), got {timeout!r}")
        check_max_body_bytes(settings["max_body_bytes"])
        tiers = list(args.get("tiers") or tier_limits_from_table())
        key_specs = parse_tier_specs(args.get("api_keys", ()), [t["name"] for t in tiers])
        kms = args.get("kms_key_arn")
        child = pulumi.ResourceOptions(parent=self)
        code_path = args.get("code_path") or default_code_path()

        statements = pulumi.Output.from_input(args.get("policy_statements", "[]")).apply(json.loads)
        # The keys come first: they depend on nothing, and the function's config carries their
        # sha256 (the usage plans, which depend on the stage and so on the function, attach them later).
        key_tiers = keys.api_keys(self, name, key_specs)
        self.api_keys: dict[str, aws.apigateway.ApiKey] = {k: key for k, (_, key) in key_tiers.items()}
        environment = {
            **dict(args.get("environment", {})),
            contract.MAX_BODY_BYTES: str(settings["max_body_bytes"]),
            "POWERTOOLS_SERVICE_NAME": "skyrelay-api",
        }
        if args.get("router_config") is not None:
            tiers_of_keys = [tier for tier, _ in key_tiers.values()]
            environment[ROUTER_CONFIG_ENV] = pulumi.Output.secret(
                pulumi.Output.all(args["router_config"], *(k.value for _, k in key_tiers.values())).apply(
                    lambda a: with_key_hashes(a[0], zip(tiers_of_keys, a[1:], strict=True))
                )
            )
        elif key_tiers:  # the router config comes another way (the zip's file): the digests travel alone
            tiers_of_keys = [tier for tier, _ in key_tiers.values()]
            environment[contract.KEY_DIGESTS] = pulumi.Output.secret(
                pulumi.Output.all(*(k.value for _, k in key_tiers.values())).apply(
                    lambda values: key_digests_env(zip(tiers_of_keys, values, strict=True))
                )
            )
        pool_args = check_warm_pool("JobsApi.warm_pool", args.get("warm_pool"), args.get("reserved_concurrency", 50))
        fn_name = function_name(name, "api")
        parts = build_function(
            self,
            f"{name}-handler",
            fn_name,
            code_path=code_path,
            handler=API_HANDLER,
            timeout=timeout,
            memory_mb=args.get("memory_mb", 512),
            environment=environment,
            statements=statements,
            settings=fn_settings,
            reserved_concurrency=args.get("reserved_concurrency", 50),
            kms_key_arn=kms,
            description="skyrelay API (ASGI app via mangum)",
        )
        self.function, self.function_role, self.function_log_group = parts.function, parts.role, parts.log_group
        self.warm = warm_pool(self, f"{name}-handler", self.function, pool_args)

        self.rest_api = aws.apigateway.RestApi(
            name,
            description="skyrelay async AI API",
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(types=settings["endpoint_type"]),
            api_key_source="HEADER",
            opts=child,
        )
        self.authorizer = None
        self.user_pool = None
        self.user_pool_client = None
        if args.get("jwt_authorizer"):
            jwt = jwt_authorizer(self, name, self.rest_api, args.get("user_pool_arn"), settings["jwt_token_minutes"])
            self.authorizer, self.user_pool, self.user_pool_client = jwt.authorizer, jwt.user_pool, jwt.user_pool_client

        route_parts = routes(self, name, self.rest_api, self.function, self.authorizer, settings["api_key_required"],
                             timeout, alias=self.warm.alias)
        self.resources, self.methods, self.integrations = route_parts.resources, route_parts.methods, route_parts.integrations
        self.permission, self.deployment = route_parts.permission, route_parts.deployment

        stage_parts = stage(self, name, self.rest_api, self.deployment, settings, kms,
                            args.get("stage_rate_limit", 100), args.get("stage_burst_limit", 200))
        self.account_role, self.account_role_attachment = stage_parts.account_role, stage_parts.account_role_attachment
        self.account, self.access_log_group = stage_parts.account, stage_parts.access_log_group
        self.stage, self.method_settings = stage_parts.stage, stage_parts.method_settings

        self.usage_plans: dict[str, aws.apigateway.UsagePlan] = keys.usage_plans(self, name, tiers, self.rest_api, self.stage)
        self.usage_plan_keys = keys.usage_plan_keys(self, name, key_tiers, self.usage_plans)

        self.web_acl = None
        self.web_acl_association = None
        if settings["waf"]:
            self.web_acl, self.web_acl_association = web_acl(self, name, settings["max_body_bytes"], self.stage)

        self.url = self.stage.invoke_url
        self.register_outputs(
            {
                "rest_api": self.rest_api,
                "stage": self.stage,
                "function": self.function,
                "url": self.stage.invoke_url,
                "rest_api_id": self.rest_api.id,
                "stage_name": self.stage.stage_name,
                "function_name": self.function.name,
                "usage_plan_ids": {k: v.id for k, v in self.usage_plans.items()},
                "api_key_ids": {k: v.id for k, v in self.api_keys.items()},
                "api_key_values": pulumi.Output.secret({k: v.value for k, v in self.api_keys.items()}),
                "user_pool_id": self.user_pool.id if self.user_pool else None,
                "user_pool_client_id": self.user_pool_client.id if self.user_pool_client else None,
            }
        )
