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
from skyrelay.config import AwsSettings, StackConfig

# Lambda allows 4 KB for all of a function's environment variables together.
CONFIG_ENV_MAX_BYTES = 2048
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
SYNC_DEADLINE_S = 28
SYNC_DEFAULT_MAX_TOKENS = 1024
FALLBACK_TEXT = "The assistant is unavailable right now; please retry in a minute."


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
    # Shared by every Lambda container (counters in the job table): a per-process memory limiter
    # would multiply each tier's limits by the container count.
    doc = contract.router_config_doc(deployments, [t.value for t in config.tier_table()], {"backend": "dynamodb"})
    # Readiness (docs/readiness.md): a marked fallback answer while every breaker of a model is open, and
    # sync chat requests judged against API Gateway's 29 s (less a second for the Lambda's own work).
    for model in doc["models"].values():
        model["fallback"] = {"text": FALLBACK_TEXT}
    doc["api"] = {"sync_deadline_s": SYNC_DEADLINE_S, "default_max_tokens": SYNC_DEFAULT_MAX_TOKENS}
    return doc


def bedrock_model_arns(config: StackConfig) -> list[str]:
    """The foundation models the rendered config's SigV4 deployments invoke (for the functions' roles)."""
    region = (config.aws or AwsSettings()).region
    return [f"arn:aws:bedrock:{region}::foundation-model/{m['upstream_model']}" for m in DEFAULT_BEDROCK_MODELS]


def demo_api_keys(config: StackConfig) -> list[str]:
    """The API keys the stack creates (`<tier>:<name>`): one per offered tier."""
    return [f"{t.value}:{t.value}-demo" for t in config.tier_table()]


def _keys_per_tier(api_keys: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key in api_keys:
        tier = key.partition(":")[0]
        counts[tier] = counts.get(tier, 0) + 1
    return counts


def router_config_env(config: StackConfig, keys_per_tenant: dict[str, int] | None = None) -> str:
    """`router_config_doc` as compact JSON for the CONFIG_JSON variable. Without key hashes
    (the worker's copy) it holds no secret. The size check counts the sha256 hex digests that
    JobsApi adds to the API function's copy (`keys_per_tenant`: tenant -> number of keys)."""
    text = json.dumps(router_config_doc(config), separators=(",", ":"), sort_keys=True)
    # each digest adds `"<64 hex>",` plus, once per tenant, `,"api_keys":[]`
    extra = sum(67 * n + 14 for n in (keys_per_tenant or {}).values() if n)
    if len(text.encode()) + extra > CONFIG_ENV_MAX_BYTES:
        raise ValueError(f"{contract.CONFIG_JSON}: the rendered router config is {len(text.encode()) + extra} bytes with its "
                         f"API key digests, over {CONFIG_ENV_MAX_BYTES} (Lambda's environment holds 4 KB in all)")
    return text


class AsyncAiApi(pulumi.ComponentResource):
    """The whole async AI API on AWS for one stack. Children: `cost_guard`, `jobs`, `api`."""

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("skyrelay:aws:AsyncAiApi", name, None, opts)
        settings = config.aws or AwsSettings()
        child = pulumi.ResourceOptions(parent=self)
        self.code_path = str(build_lambda_zip())
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
        self.router_config = router_config_env(config, keys_per_tenant=_keys_per_tier(api_keys))
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
                "environment": {contract.TIERS: tier_env, contract.CONFIG_JSON: self.router_config},
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
                # JobsApi adds each generated key's sha256 to its tier's tenant and sets the result
                # (a secret output) as CONFIG_JSON on the API function.
                "router_config": self.router_config,
                "policy_statements": self.jobs.api_statements().apply(json.dumps),
                "tiers": tier_limits_from_table(tiers),
                "api_keys": api_keys,
                "timeout_seconds": settings.api_timeout_seconds,
                "memory_mb": settings.api_memory_mb,
                "stage_rate_limit": settings.stage_rate_limit,
                "stage_burst_limit": settings.stage_burst_limit,
                "jwt_authorizer": settings.jwt_authorizer,
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


def deploy(config: StackConfig) -> dict:
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
