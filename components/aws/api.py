"""JobsApi: a REST (v1) API Gateway in front of the API Lambda (the runtime's ASGI app via mangum).

REST v1 because usage plans and API keys exist only there: one usage plan per tier, its throttle and
monthly quota taken from the core tier table, so the edge enforces the same numbers as the runtime
limiter. Every method requires an API key (and, with `jwt_authorizer`, a Cognito JWT with
15-minute tokens). The stage has JSON access logs with retention, X-Ray, INFO execution logging,
data trace off and per-stage method throttles; a regional WAF web ACL limits the request body size.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import pulumi
import pulumi_aws as aws

from skyrelay.components.aws.defaults import API, ASYNC_JOBS
from skyrelay.components.aws.worker import build_function, function_name
from skyrelay.components.defaults import resolve
from skyrelay.errors import ConfigError
from skyrelay.tiers import default_tiers

API_HANDLER = "skyrelay.runtime.platforms.aws_lambda.api.handler"
# (path, methods) served by the API Lambda; all proxied, all behind an API key.
ROUTES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("v1/jobs", ("POST", "GET")),
    ("v1/jobs/{id}", ("GET", "DELETE")),
    ("v1/chat/completions", ("POST",)),
)
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "ip": "$context.identity.sourceIp",
        "apiKeyId": "$context.identity.apiKeyId",
        "caller": "$context.identity.caller",
        "user": "$context.authorizer.claims.sub",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "latency": "$context.responseLatency",
        "wafStatus": "$context.waf.status",
        "xrayTraceId": "$context.xrayTraceId",
    },
    separators=(",", ":"),
)
SECONDS_PER_MINUTE = 60
ROUTER_CONFIG_ENV = "SKYRELAY_CONFIG_JSON"
WAF_MAX_INSPECTION_BYTES = 65536


class TierLimits(TypedDict):
    name: str
    """Tier name (free, developer, professional, enterprise)."""
    rpm: int
    """Requests per minute per API key."""
    monthly_request_quota: int
    """Requests per API key per month."""


class JobsApiArgs(TypedDict, total=False):
    code_path: str
    """Path of the Lambda zip (default: built from the installed skyrelay.runtime)."""
    environment: Mapping[str, pulumi.Input[str]]
    """Environment of the API Lambda (AsyncJobs.environment: table, queues, secret ARNs; no secrets)."""
    policy_statements: pulumi.Input[str]
    """JSON list of IAM statements the API Lambda needs (AsyncJobs.api_statements()), least privilege."""
    tiers: Sequence[TierLimits]
    """Usage plans to create (default: every tier of the core tier table)."""
    api_keys: Sequence[str]
    """Names of API keys to create, as `<tier>:<key name>`; each joins its tier's usage plan."""
    router_config: pulumi.Input[str]
    """The runtime's router config as JSON. JobsApi adds the sha256 of every API key it creates to
    the tenant named after the key's tier (`tenants[].api_keys`) and sets the result on the API
    Lambda as SKYRELAY_CONFIG_JSON (a secret output), so the runtime accepts the generated keys."""
    timeout_seconds: int
    """API Lambda timeout, at most 29 (the REST API integration limit; default 29)."""
    memory_mb: int
    """API Lambda memory (default 512)."""
    reserved_concurrency: int
    """API Lambda reserved concurrency (default 50)."""
    stage_rate_limit: float
    """Stage-wide steady-state requests per second, across all keys (default 100)."""
    stage_burst_limit: int
    """Stage-wide burst (default 200)."""
    jwt_authorizer: bool
    """Also require a Cognito-issued JWT (15-minute tokens) on every method (default False)."""
    user_pool_arn: pulumi.Input[str]
    """Use this existing Cognito user pool for the JWT authorizer instead of creating one."""
    kms_key_arn: pulumi.Input[str]
    """Customer KMS key for the log groups."""
    overrides: dict[str, Any]
    """Changes to the defaults table (see the component README)."""


def tier_limits_from_table(tiers=None) -> list[TierLimits]:
    """TierLimits for each tier of a tier table (default: the core table)."""
    table = tiers if tiers is not None else default_tiers()
    return [
        {"name": str(t.name.value if hasattr(t.name, "value") else t.name), "rpm": t.rpm,
         "monthly_request_quota": t.monthly_request_quota}
        for t in table.values()
    ]


def with_key_hashes(router_config: str, keys) -> str:
    """`router_config` (JSON) with the sha256 hex of each `(tier, key value)` added to the API keys
    of the tenant named after the tier (created when missing). The runtime stores keys only as
    sha256 digests; a digest of a generated, high-entropy key cannot be reversed."""
    doc = json.loads(router_config)
    tenants = doc.setdefault("tenants", [])
    for tier, value in keys:
        tenant = next((t for t in tenants if t.get("name") == tier), None)
        if tenant is None:
            tenant = {"name": tier, "tier": tier}
            tenants.append(tenant)
        digest = hashlib.sha256(value.encode()).hexdigest()
        if digest not in tenant.setdefault("api_keys", []):
            tenant["api_keys"].append(digest)
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def usage_plan_limits(tier: TierLimits) -> dict[str, Any]:
    """Usage plan throttle and quota for a tier: steady rate = RPM / 60 per second, burst = one
    minute's worth (at least 1), quota = the monthly request quota."""
    rpm = tier["rpm"]
    return {
        "rate_limit": round(rpm / SECONDS_PER_MINUTE, 4),
        "burst_limit": max(1, rpm),
        "quota_limit": tier["monthly_request_quota"],
        "quota_period": "MONTH",
    }


class JobsApi(pulumi.ComponentResource):
    """REST API, API Lambda, stage, usage plans and keys, WAF and optional JWT authorizer. Children are attributes."""

    # Annotated attributes are the schema outputs; other children are plain attributes.
    rest_api: aws.apigateway.RestApi
    stage: aws.apigateway.Stage
    function: aws.lambda_.Function
    url: pulumi.Output[str]

    def __init__(self, name: str, args: JobsApiArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("skyrelay:aws:JobsApi", name, None, opts)
        args = args or {}
        settings = resolve("JobsApi", API, args.get("overrides"))
        fn_settings = resolve("JobsApi.function", ASYNC_JOBS, None)
        fn_settings["log_retention_days"] = settings["access_log_retention_days"]
        timeout = args.get("timeout_seconds", 29)
        if not isinstance(timeout, int) or not 1 <= timeout <= 29:
            raise ConfigError("JobsApi.timeout_seconds", f"must be 1-29 (the REST API integration limit), got {timeout!r}")
        if not 1024 <= settings["max_body_bytes"] <= WAF_MAX_INSPECTION_BYTES:
            raise ConfigError(
                "JobsApi.overrides.max_body_bytes",
                f"must be 1024-{WAF_MAX_INSPECTION_BYTES} (the largest body WAF can inspect on API Gateway)",
            )
        tiers = list(args.get("tiers") or tier_limits_from_table())
        tier_names = [t["name"] for t in tiers]
        for key in args.get("api_keys", ()):
            tier, _, key_name = key.partition(":")
            if tier not in tier_names or not key_name:
                raise ConfigError("JobsApi.api_keys", f"{key!r}: expected `<tier>:<name>` with tier one of {tier_names}")
        kms = args.get("kms_key_arn")
        child = pulumi.ResourceOptions(parent=self)
        code_path = args.get("code_path") or _default_code_path()
        stage_name = settings["stage_name"]

        statements = pulumi.Output.from_input(args.get("policy_statements", "[]")).apply(json.loads)
        # The keys come first: they depend on nothing, and the function's config carries their
        # sha256 (the usage plans, which depend on the stage and so on the function, attach them later).
        self.api_keys: dict[str, aws.apigateway.ApiKey] = {}
        key_tiers: dict[str, tuple[str, aws.apigateway.ApiKey]] = {}
        for key in args.get("api_keys", ()):
            tier, _, key_name = key.partition(":")
            api_key = aws.apigateway.ApiKey(
                f"{name}-key-{key_name}",
                name=f"{pulumi.get_stack()}-{name}-{key_name}",
                description=f"{tier} tier key",
                enabled=True,
                opts=child,
            )
            self.api_keys[key_name] = api_key
            key_tiers[key_name] = (tier, api_key)
        environment = {
            **dict(args.get("environment", {})),
            "SKYRELAY_MAX_BODY_BYTES": str(settings["max_body_bytes"]),
            "POWERTOOLS_SERVICE_NAME": "skyrelay-api",
        }
        if args.get("router_config") is not None:
            tiers_of_keys = [tier for tier, _ in key_tiers.values()]
            environment[ROUTER_CONFIG_ENV] = pulumi.Output.secret(
                pulumi.Output.all(args["router_config"], *(k.value for _, k in key_tiers.values())).apply(
                    lambda a: with_key_hashes(a[0], zip(tiers_of_keys, a[1:], strict=True))
                )
            )
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
            pool_arn = args.get("user_pool_arn")
            if pool_arn is None:
                self.user_pool = aws.cognito.UserPool(
                    f"{name}-users",
                    deletion_protection="ACTIVE",
                    mfa_configuration="OPTIONAL",
                    software_token_mfa_configuration=aws.cognito.UserPoolSoftwareTokenMfaConfigurationArgs(enabled=True),
                    password_policy=aws.cognito.UserPoolPasswordPolicyArgs(
                        minimum_length=12, require_lowercase=True, require_uppercase=True, require_numbers=True,
                        require_symbols=True, temporary_password_validity_days=1,
                    ),
                    opts=child,
                )
                pool_arn = self.user_pool.arn
                minutes = settings["jwt_token_minutes"]
                self.user_pool_client = aws.cognito.UserPoolClient(
                    f"{name}-app",
                    user_pool_id=self.user_pool.id,
                    access_token_validity=minutes,
                    id_token_validity=minutes,
                    refresh_token_validity=1,
                    token_validity_units=aws.cognito.UserPoolClientTokenValidityUnitsArgs(
                        access_token="minutes", id_token="minutes", refresh_token="days"
                    ),
                    enable_token_revocation=True,
                    prevent_user_existence_errors="ENABLED",
                    explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                    generate_secret=False,
                    opts=child,
                )
            self.authorizer = aws.apigateway.Authorizer(
                f"{name}-jwt",
                rest_api=self.rest_api.id,
                type="COGNITO_USER_POOLS",
                provider_arns=[pool_arn],
                identity_source="method.request.header.Authorization",
                authorizer_result_ttl_in_seconds=300,
                opts=child,
            )

        # Resources: /v1, /v1/jobs, /v1/jobs/{id}, /v1/chat, /v1/chat/completions
        self.resources: dict[str, aws.apigateway.Resource] = {}
        for path, _ in ROUTES:
            self._resource(name, path)
        self.methods: list[aws.apigateway.Method] = []
        self.integrations: list[aws.apigateway.Integration] = []
        for path, verbs in ROUTES:
            resource = self.resources[path]
            for verb in verbs:
                slug = f"{name}-{verb.lower()}-{_slug(path)}"
                method = aws.apigateway.Method(
                    slug,
                    rest_api=self.rest_api.id,
                    resource_id=resource.id,
                    http_method=verb,
                    api_key_required=settings["api_key_required"],
                    authorization="COGNITO_USER_POOLS" if self.authorizer else "NONE",
                    authorizer_id=self.authorizer.id if self.authorizer else None,
                    request_parameters={"method.request.path.id": True} if "{id}" in path else None,
                    opts=child,
                )
                self.methods.append(method)
                self.integrations.append(
                    aws.apigateway.Integration(
                        slug,
                        rest_api=self.rest_api.id,
                        resource_id=resource.id,
                        http_method=method.http_method,
                        type="AWS_PROXY",
                        integration_http_method="POST",
                        uri=self.function.invoke_arn,
                        timeout_milliseconds=timeout * 1000,
                        opts=child,
                    )
                )
        self.permission = aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="apigateway.amazonaws.com",
            source_arn=self.rest_api.execution_arn.apply(lambda arn: f"{arn}/*/*/*"),
            opts=child,
        )
        redeploy = hashlib.sha256(json.dumps([ROUTES, bool(self.authorizer), settings["api_key_required"]]).encode())
        self.deployment = aws.apigateway.Deployment(
            name,
            rest_api=self.rest_api.id,
            description="skyrelay API",
            triggers={"routes": redeploy.hexdigest()},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.methods, *self.integrations]),
        )

        self.account = None
        if settings["manage_account_logging_role"]:
            self.account_role = aws.iam.Role(
                f"{name}-apigw-logs",
                description="lets API Gateway write execution and access logs to CloudWatch (region-wide)",
                assume_role_policy=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "apigateway.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                ),
                opts=child,
            )
            self.account_role_attachment = aws.iam.RolePolicyAttachment(
                f"{name}-apigw-logs",
                role=self.account_role.name,
                policy_arn="arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
                opts=child,
            )
            self.account = aws.apigateway.Account(
                f"{name}-account",
                cloudwatch_role_arn=self.account_role.arn,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.account_role_attachment]),
            )

        self.access_log_group = aws.cloudwatch.LogGroup(
            f"{name}-access",
            name=f"/aws/apigateway/{pulumi.get_project()}-{pulumi.get_stack()}-{name}/access",
            retention_in_days=settings["access_log_retention_days"],
            kms_key_id=kms,
            opts=child,
        )
        stage_deps = [self.access_log_group] + ([self.account] if self.account else [])
        self.stage = aws.apigateway.Stage(
            name,
            rest_api=self.rest_api.id,
            deployment=self.deployment.id,
            stage_name=stage_name,
            xray_tracing_enabled=settings["xray_tracing"],
            access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(
                destination_arn=self.access_log_group.arn, format=ACCESS_LOG_FORMAT
            )
            if settings["access_logs"]
            else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=stage_deps),
        )
        self.method_settings = aws.apigateway.MethodSettings(
            name,
            rest_api=self.rest_api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=aws.apigateway.MethodSettingsSettingsArgs(
                logging_level=settings["logging_level"],
                data_trace_enabled=settings["data_trace"],
                metrics_enabled=settings["metrics_enabled"],
                throttling_rate_limit=args.get("stage_rate_limit", 100),
                throttling_burst_limit=args.get("stage_burst_limit", 200),
            ),
            opts=child,
        )

        self.usage_plans: dict[str, aws.apigateway.UsagePlan] = {}
        for tier in tiers:
            limits = usage_plan_limits(tier)
            self.usage_plans[tier["name"]] = aws.apigateway.UsagePlan(
                f"{name}-{tier['name']}",
                name=f"{pulumi.get_stack()}-{name}-{tier['name']}",
                description=f"{tier['name']} tier: {tier['rpm']} RPM, {tier['monthly_request_quota']:,} requests/month",
                api_stages=[aws.apigateway.UsagePlanApiStageArgs(api_id=self.rest_api.id, stage=self.stage.stage_name)],
                throttle_settings=aws.apigateway.UsagePlanThrottleSettingsArgs(
                    rate_limit=limits["rate_limit"], burst_limit=limits["burst_limit"]
                ),
                quota_settings=aws.apigateway.UsagePlanQuotaSettingsArgs(
                    limit=limits["quota_limit"], period=limits["quota_period"]
                ),
                opts=child,
            )
        self.usage_plan_keys = []
        for key_name, (tier, api_key) in key_tiers.items():
            self.usage_plan_keys.append(
                aws.apigateway.UsagePlanKey(
                    f"{name}-key-{key_name}",
                    key_id=api_key.id,
                    key_type="API_KEY",
                    usage_plan_id=self.usage_plans[tier].id,
                    opts=child,
                )
            )

        self.web_acl = None
        self.web_acl_association = None
        if settings["waf"]:
            self.web_acl = aws.wafv2.WebAcl(
                f"{name}-waf",
                scope="REGIONAL",
                description=f"body size limit {settings['max_body_bytes']} bytes",
                default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
                rule_json=json.dumps([_body_size_rule(settings["max_body_bytes"])]),
                association_config=aws.wafv2.WebAclAssociationConfigArgs(
                    request_bodies=[
                        aws.wafv2.WebAclAssociationConfigRequestBodyArgs(
                            api_gateway=aws.wafv2.WebAclAssociationConfigRequestBodyApiGatewayArgs(
                                default_size_inspection_limit="KB_64"
                            )
                        )
                    ]
                ),
                visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
                    cloudwatch_metrics_enabled=True, metric_name=f"{name}-waf", sampled_requests_enabled=True
                ),
                opts=child,
            )
            self.web_acl_association = aws.wafv2.WebAclAssociation(
                f"{name}-waf",
                resource_arn=self.stage.arn,
                web_acl_arn=self.web_acl.arn,
                opts=child,
            )

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

    def _resource(self, name: str, path: str) -> aws.apigateway.Resource:
        if path in self.resources:
            return self.resources[path]
        parent_path, _, part = path.rpartition("/")
        parent_id = self._resource(name, parent_path).id if parent_path else self.rest_api.root_resource_id
        resource = aws.apigateway.Resource(
            f"{name}-{_slug(path)}",
            rest_api=self.rest_api.id,
            parent_id=parent_id,
            path_part=part,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.resources[path] = resource
        return resource


def _slug(path: str) -> str:
    return path.replace("{", "").replace("}", "").replace("/", "-")


def _body_size_rule(max_bytes: int) -> dict[str, Any]:
    """Block requests whose body is larger than `max_bytes`. WAF inspects at most 64 KB of an API
    Gateway body (the association raises the 16 KB default); OversizeHandling MATCH blocks anything
    longer, so `max_bytes` is at most 64 KB here (the API also checks SKYRELAY_MAX_BODY_BYTES)."""
    return {
        "Name": "max-body-size",
        "Priority": 0,
        "Action": {"Block": {}},
        "Statement": {
            "SizeConstraintStatement": {
                "FieldToMatch": {"Body": {"OversizeHandling": "MATCH"}},
                "ComparisonOperator": "GT",
                "Size": max_bytes,
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
            }
        },
        "VisibilityConfig": {
            "SampledRequestsEnabled": True,
            "CloudWatchMetricsEnabled": True,
            "MetricName": "max-body-size",
        },
    }


def _default_code_path() -> str:
    from skyrelay.components.aws.packaging import build_lambda_zip

    return str(build_lambda_zip())
