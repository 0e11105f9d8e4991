"""The AWS blueprint: what `pulumi up -s aws-dev` deploys.

AsyncAiApi = CostGuard (budget, anomaly alerts, the alert topic) + AsyncJobs (queues, worker, job
table, secrets, alarms to the alert topic, dashboard) + JobsApi (REST API, tier usage plans, API
Lambda) + the runtime, packaged once as a Lambda zip that both functions run.
"""

import json

import pulumi
import pulumi_aws as aws

from skyrelay import deployment as contract
from skyrelay.components.aws import AsyncJobs, CostGuard, JobsApi
from skyrelay.components.aws.api import tier_limits_from_table
from skyrelay.components.aws.packaging import build_lambda_zip
from skyrelay.components.packaging import with_files
from skyrelay.config import AwsSettings, StackConfig
from skyrelay.errors import ConfigError

# Lambda allows 4 KB for all of a function's environment variables together: the router config does
# not travel there (it is a file in the zip, contract.ROUTER_CONFIG_FILE); only the API's key digests do.
KEY_DIGESTS_ENV_MAX_BYTES = 1024
# The documented default deployments (docs/aws.md): Bedrock in the stack's region, signed with the
# function role's credentials (SigV4), so no provider key is needed. Prices per 1,000 tokens (USD).
DEFAULT_BEDROCK_MODELS = (
    {"model": "fast", "upstream_model": "anthropic.claude-3-haiku-20240307-v1:0", "model_class": "small",
     "capabilities": ["fast", "cheap"], "context_window": 200000,
     "price": {"input": 0.00025, "output": 0.00125, "cache_read": 0.00003, "cache_write": 0.0003},
     "output_tokens_per_s": 100},
    {"model": "quality", "upstream_model": "anthropic.claude-3-5-sonnet-20240620-v1:0", "model_class": "large",
     "capabilities": ["quality"], "context_window": 200000,
     "price": {"input": 0.003, "output": 0.015, "cache_read": 0.0003, "cache_write": 0.00375},
     "output_tokens_per_s": 50},
)


BEDROCK_BATCH_MIN_RECORDS = 100
# API Gateway ends a synchronous request at 29 s; the router judges max_tokens against 28 s. Output
# speeds above are conservative on-demand figures (tokens/s): 1,024 default tokens fit either model.
API_GATEWAY_SYNC_LIMIT_S = 29


def router_config_doc(config: StackConfig) -> dict:
    """The router config the deployed functions load (`skyrelay.runtime.router.config`, through the
    contract's `router_config_doc`): one Bedrock deployment per default model in the stack's region
    (SigV4), one tenant per offered tier, and the DynamoDB limiter. The tier numbers travel in
    TIERS, the job store and queue settings in AsyncJobs' own variables; no secrets."""
    settings = config.aws or AwsSettings()
    # `batch`: batch work goes to Bedrock batch inference (the role from BATCH_ROLE_ARN); 100 records is
    # the per-model minimum of most models (fewer run on demand, docs/batch.md).
    deployments = [
        {"name": f"{m['model']}-bedrock", "provider": "bedrock", "region": settings.region, "auth": "sigv4",
         "batch": {"min_records": BEDROCK_BATCH_MIN_RECORDS}, **m}
        for m in DEFAULT_BEDROCK_MODELS
    ]
    # Failover (readiness point 5): the same model in a second region, after the primary in priority
    # order; the hedge starts it when the primary hangs, an error fails over at once. On demand only
    # (batch work stays in the stack's region, beside its bucket).
    deployments += [
        {"name": failover_name(m["model"], settings.failover_region), "provider": "bedrock",
         "region": settings.failover_region, "auth": "sigv4", **m}
        for m in DEFAULT_BEDROCK_MODELS if settings.failover_region
    ]
    dedicated = settings.dedicated_capacity
    if dedicated is not None:  # Bedrock Provisioned Throughput: invoked by its ARN, pinned to its tenants
        base = next(m for m in DEFAULT_BEDROCK_MODELS if m["model"] == dedicated.model)
        # billed by the hour, not per token: no token price (the cost ledger counts 0 for its calls)
        deployments.append({**base, "name": f"{dedicated.model}-dedicated", "provider": "bedrock",
                            "region": settings.region, "auth": "sigv4", "upstream_model": dedicated.model_arn,
                            "model_class": "dedicated", "provisioned": True, "price": {}})
    # Shared by every Lambda container (counters in the job table): a per-process memory limiter
    # would multiply each tier's limits by the container count.
    doc = contract.router_config_doc(deployments, [t.value for t in config.tier_table()], {"backend": "dynamodb"})
    if dedicated is not None:
        for tenant in doc["tenants"]:
            if tenant["name"] in dedicated.tenants:
                tenant["dedicated"] = [f"{dedicated.model}-dedicated"]
    # Readiness (docs/readiness.md): a marked fallback answer while every breaker of a model is open, and
    # sync chat requests judged against API Gateway's 29 s (less a second for the Lambda's own work).
    return contract.with_readiness(doc, API_GATEWAY_SYNC_LIMIT_S)


def bedrock_model_arns(config: StackConfig) -> list[str]:
    """The foundation models the rendered config's SigV4 deployments invoke (for the functions' roles),
    and the provisioned model of `dedicatedCapacity`."""
    settings = config.aws or AwsSettings()
    regions = [settings.region, *([settings.failover_region] if settings.failover_region else [])]
    arns = [f"arn:aws:bedrock:{region}::foundation-model/{m['upstream_model']}"
            for region in regions for m in DEFAULT_BEDROCK_MODELS]
    if settings.dedicated_capacity is not None:
        arns.append(settings.dedicated_capacity.model_arn)
    return arns


def check_readiness_settings(config: StackConfig) -> None:
    """Keys that name router deployments or tenants, checked before any resource is registered."""
    settings = config.aws or AwsSettings()
    source = "skyrelay:aws"
    names = {f"{m['model']}-bedrock" for m in DEFAULT_BEDROCK_MODELS}
    if settings.failover_region:
        names |= {failover_name(m["model"], settings.failover_region) for m in DEFAULT_BEDROCK_MODELS}
    dedicated = settings.dedicated_capacity
    if dedicated is not None:
        models = {m["model"] for m in DEFAULT_BEDROCK_MODELS}
        if dedicated.model not in models:
            raise ConfigError(f"{source}.dedicatedCapacity.model", f"must be one of {sorted(models)}")
        offered = {t.value for t in config.tier_table()}
        for i, tenant in enumerate(dedicated.tenants):
            if tenant not in offered:
                raise ConfigError(f"{source}.dedicatedCapacity.tenants[{i}]", f"{tenant!r} is not an offered tier")
        names.add(f"{dedicated.model}-dedicated")
    for i, name in enumerate(settings.keep_alive):
        if name not in names:
            raise ConfigError(f"{source}.keepAlive[{i}]", f"{name!r} is not a deployment ({', '.join(sorted(names))})")


def demo_api_keys(config: StackConfig) -> list[str]:
    """The API keys the stack creates (`<tier>:<name>`): one per offered tier."""
    return [f"{t.value}:{t.value}-demo" for t in config.tier_table()]


def _keys_per_tier(api_keys: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key in api_keys:
        tier = key.partition(":")[0]
        counts[tier] = counts.get(tier, 0) + 1
    return counts


def failover_name(model: str, region: str) -> str:
    return f"{model}-bedrock-{region}"


def router_config_file(config: StackConfig) -> str:
    """`router_config_doc` as compact JSON, the zip's ROUTER_CONFIG_FILE. It holds no secret: the API
    function's key digests travel apart (KEY_DIGESTS)."""
    return json.dumps(router_config_doc(config), separators=(",", ":"), sort_keys=True)


def check_key_digests_size(keys_per_tenant: dict[str, int]) -> None:
    """KEY_DIGESTS must leave room in the 4 KB environment: `{"<tenant>":["<64 hex>",...],...}`."""
    size = 2 + sum(len(t) + 6 + 67 * n for t, n in keys_per_tenant.items() if n)
    if size > KEY_DIGESTS_ENV_MAX_BYTES:
        raise ValueError(f"{contract.KEY_DIGESTS}: {size} bytes of API key digests, over "
                         f"{KEY_DIGESTS_ENV_MAX_BYTES} (Lambda's environment holds 4 KB in all)")


class AsyncAiApi(pulumi.ComponentResource):
    """The whole async AI API on AWS for one stack. Children: `cost_guard`, `jobs`, `api`."""

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("skyrelay:aws:AsyncAiApi", name, None, opts)
        settings = config.aws or AwsSettings()
        child = pulumi.ResourceOptions(parent=self)
        # The router config travels in the code (a config change publishes a new version for `live`).
        self.router_config = router_config_file(config)
        self.code_path = str(with_files(build_lambda_zip(), [(contract.ROUTER_CONFIG_FILE, self.router_config)]))
        tiers = config.tier_table()
        self.cost_guard = CostGuard(
            "cost",
            {**contract.cost_guard_args(config), "currency": config.budget.currency,
             "anomaly_threshold": config.budget.anomaly_threshold},
            opts=child,
        )
        overrides = {
            "max_receive_count": settings.max_receive_count,
            "log_retention_days": settings.log_retention_days,
            "alarm_oldest_message_seconds": settings.alarm_oldest_message_seconds,
        }
        tier_env = contract.tiers_doc(tiers)
        api_keys = demo_api_keys(config)
        check_key_digests_size(_keys_per_tier(api_keys))
        self.jobs = AsyncJobs(
            "jobs",
            {
                "code_path": self.code_path,
                "worker_timeout_seconds": settings.worker_timeout_seconds,
                "worker_memory_mb": settings.worker_memory_mb,
                "batching_window_seconds": settings.batching_window_seconds,
                "queue_retention_seconds": settings.queue_retention_seconds,
                "model_quota_rpm": settings.model_quota_rpm,
                "job_seconds_p50": settings.job_seconds_p50,
                "reserved_concurrency": settings.worker_reserved_concurrency,
                "alarm_topic_arn": self.cost_guard.topic.arn,
                "provider_secrets": list(settings.provider_secrets),
                "bedrock_model_arns": bedrock_model_arns(config),
                "batch": True,  # the batch bucket, Bedrock's batch role and the batcher's schedule
                "warm_pool": _pool(settings.warm_pool.worker),
                "keep_alive": list(settings.keep_alive),
                "environment": {contract.TIERS: tier_env, contract.CONFIG_FILE: contract.ROUTER_CONFIG_FILE},
                "overrides": overrides,
                **({"kms_key_arn": settings.kms_key_arn} if settings.kms_key_arn else {}),
            },
            opts=child,
        )
        self.api = JobsApi(
            "api",
            {
                "code_path": self.code_path,
                "environment": {**self.jobs.environment, contract.TIERS: tier_env},
                # The config file comes with the code; JobsApi puts each generated key's sha256 (a
                # secret output) in KEY_DIGESTS, which the runtime adds to its tier's tenant.
                "policy_statements": self.jobs.api_statements().apply(json.dumps),
                "tiers": tier_limits_from_table(tiers),
                "api_keys": api_keys,
                "timeout_seconds": settings.api_timeout_seconds,
                "memory_mb": settings.api_memory_mb,
                "stage_rate_limit": settings.stage_rate_limit,
                "stage_burst_limit": settings.stage_burst_limit,
                "jwt_authorizer": settings.jwt_authorizer,
                "warm_pool": _pool(settings.warm_pool.api),
                "overrides": {
                    "max_body_bytes": settings.max_body_bytes,
                    "access_log_retention_days": settings.log_retention_days,
                },
                **({"kms_key_arn": settings.kms_key_arn} if settings.kms_key_arn else {}),
            },
            opts=child,
        )
        self.register_outputs(
            {
                "api_url": self.api.stage.invoke_url,
                "alert_topic_arn": self.cost_guard.topic.arn,
                "table_name": self.jobs.table.name,
            }
        )


def _pool(pool) -> dict:
    return {"provisioned": pool.provisioned, "target_utilization": pool.target_utilization,
            **({"autoscaling_max": pool.autoscaling_max} if pool.autoscaling_max is not None else {})}


def deploy(config: StackConfig) -> dict:
    check_readiness_settings(config)
    settings = config.aws or AwsSettings()
    # default_tags is the engine-side safety net; the tagging transformation makes the tags visible
    # in the plan and covers resources whose provider ignores default_tags.
    provider = aws.Provider(
        "aws", region=settings.region, default_tags=aws.ProviderDefaultTagsArgs(tags=config.tags.as_dict())
    )
    app = AsyncAiApi("skyrelay", config, opts=pulumi.ResourceOptions(providers={"aws": provider}))
    return {
        "alert_topic_arn": app.cost_guard.topic.arn,
        "budget_name": app.cost_guard.budget.name,
        "api_url": app.api.stage.invoke_url,
        "jobs_table": app.jobs.table.name,
        "interactive_queue_url": app.jobs.interactive.queue.url,
        "batch_queue_url": app.jobs.batch.queue.url,
        "worker_function": app.jobs.worker.name,
        "dashboard": app.jobs.dashboard.dashboard_name if app.jobs.dashboard else None,
        "batch_bucket": app.jobs.batch_parts.bucket.bucket,
        "usage_plans": {k: v.id for k, v in app.api.usage_plans.items()},
        "api_keys": pulumi.Output.secret({k: v.value for k, v in app.api.api_keys.items()}),
    }
