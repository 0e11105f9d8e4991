"""The GCP blueprint: what `pulumi up -s gcp-dev` deploys.

AsyncAiApi = CostGuard (budget, forecast rule, spend-driver alert, the email channels) + AsyncJobs
(Cloud Tasks queues, the Cloud Run worker, Firestore, secrets, alerts to the cost guard's channels,
dashboard, scheduler ticks, batch bucket) + JobsApi (API Gateway, the API Cloud Run service, API
keys) + the runtime, packaged once as a source zip that Cloud Build turns into the image both
services run.
"""

import json

import pulumi
import pulumi_gcp as gcp

from skyrelay import deployment as contract
from skyrelay.components.gcp import AsyncJobs, CostGuard, JobsApi
from skyrelay.components.gcp.api import tier_limits
from skyrelay.components.gcp.cloud_run import service_name
from skyrelay.config import StackConfig

# The documented default deployments (docs/gcp.md): Gemini on Vertex AI in the stack's region, with
# the services' own credentials (google-auth), so no provider key is needed. Prices per 1,000 tokens (USD).
DEFAULT_VERTEX_MODELS = (
    {"model": "fast", "upstream_model": "gemini-2.0-flash-001", "model_class": "small",
     "capabilities": ["fast", "cheap"], "context_window": 1000000,
     "price": {"input": 0.00015, "output": 0.0006}, "output_tokens_per_s": 100},
    {"model": "quality", "upstream_model": "gemini-2.5-pro", "model_class": "large",
     "capabilities": ["quality"], "context_window": 1000000,
     "price": {"input": 0.00125, "output": 0.01}, "output_tokens_per_s": 50},
)
# Readiness (docs/readiness.md): the gateway's synchronous limit the router judges max_tokens against.
GATEWAY_SYNC_LIMIT_S = 30
VERTEX_BATCH_MIN_RECORDS = 10


def router_config_doc(config: StackConfig) -> dict:
    """The router config both services load: one Vertex deployment per default model (google auth,
    batch prediction on), one tenant per offered tier, and the Firestore limiter every instance shares."""
    settings = config.gcp
    deployments = [
        {"name": f"{m['model']}-vertex", "provider": "vertex", "project": settings.project,
         "location": settings.region, "auth": "google", "batch": {"min_records": VERTEX_BATCH_MIN_RECORDS}, **m}
        for m in DEFAULT_VERTEX_MODELS
    ]
    # Failover (readiness point 5): the same model in a second Vertex location, after the primary; on
    # demand only (batch prediction stays beside the stack's bucket). Vertex IAM is per project.
    deployments += [
        {"name": f"{m['model']}-vertex-{settings.failover_region}", "provider": "vertex", "project": settings.project,
         "location": settings.failover_region, "auth": "google", **m}
        for m in DEFAULT_VERTEX_MODELS if settings.failover_region
    ]
    doc = contract.router_config_doc(deployments, [t.value for t in config.tier_table()], {"backend": "firestore"})
    return contract.with_readiness(doc, GATEWAY_SYNC_LIMIT_S)


def demo_api_keys(config: StackConfig) -> list[str]:
    """The API keys the stack creates (`<tier>:<name>`): one per offered tier."""
    return [f"{t.value}:{t.value}-demo" for t in config.tier_table()]


class AsyncAiApi(pulumi.ComponentResource):
    """The whole async AI API on GCP for one stack. Children: `cost_guard`, `jobs`, `api`."""

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("skyrelay:gcp:AsyncAiApi", name, None, opts)
        settings = config.gcp
        tags = config.tags.as_dict()
        child = pulumi.ResourceOptions(parent=self)
        tiers = config.tier_table()
        self.cost_guard = CostGuard(
            "cost",
            {**contract.cost_guard_args(config), "billing_account": settings.billing_account,
             "project": settings.project, "region": settings.region, "currency": config.budget.currency,
             "user_labels": tags},
            opts=child,
        )
        tier_env = contract.tiers_doc(tiers)
        router_config = json.dumps(router_config_doc(config), separators=(",", ":"), sort_keys=True)
        self.jobs = AsyncJobs(
            "jobs",
            {
                "location": settings.region,
                "project": settings.project,
                **({"firestore_location": settings.firestore_location} if settings.firestore_location else {}),
                **({"image": settings.image} if settings.image else {}),
                "worker_timeout_seconds": settings.worker_timeout_seconds,
                "worker_concurrency": settings.worker_concurrency,
                "worker_min_instances": settings.worker_min_instances,
                "model_quota_rpm": settings.model_quota_rpm,
                "job_seconds_p50": settings.job_seconds_p50,
                "provider_secrets": list(settings.provider_secrets),
                "notification_channels": [c.id for c in self.cost_guard.channels],
                "alert_services": [service_name("api", "api")],  # JobsApi("api")'s service: its 5xx alert too
                "batch": True,  # the batch bucket, the Vertex batch account and the batcher's schedule
                "environment": {contract.TIERS: tier_env, contract.CONFIG_JSON: router_config},
                "user_labels": tags,
                "overrides": {"max_receive_count": settings.max_receive_count,
                              "alarm_oldest_message_seconds": settings.alarm_oldest_message_seconds,
                              "enable_apis": True},
            },
            opts=child,
        )
        source = self.jobs.source
        self.api = JobsApi(
            "api",
            {
                "location": settings.region,
                "project": settings.project,
                "environment": {k: v for k, v in self.jobs.environment.items() if k != contract.CONFIG_JSON},
                "secret_environment": self.jobs.secret_environment,
                "service_account_email": self.jobs.api_account.email,
                "image": source.image,
                **({"source_location": source.source_location, "build_service_account": source.build_account}
                   if source.built else {}),
                "router_config": router_config,
                "tiers": tier_limits(tiers),
                "api_keys": demo_api_keys(config),
                "timeout_seconds": settings.api_timeout_seconds,
                **({"jwt_issuer": settings.jwt_issuer, "jwt_jwks_uri": settings.jwt_jwks_uri}
                   if settings.jwt_issuer else {}),
            },
            opts=child,
        )
        self.register_outputs({"api_url": self.api.url, "worker_url": self.jobs.worker_url,
                               "budget_topic_id": self.cost_guard.topic.id})


def deploy(config: StackConfig) -> dict:
    settings = config.gcp  # parse_stack_config requires the section when cloud is gcp
    tags = config.tags.as_dict()
    # default_labels is the engine-side safety net (resources with `labels`); the tagging
    # transformation makes the labels visible in the plan. billing_project + user_project_override
    # give the Budgets API the quota project it needs with user credentials.
    provider = gcp.Provider(
        "gcp",
        project=settings.project,
        region=settings.region,
        default_labels=tags,
        billing_project=settings.project,
        user_project_override=True,
    )
    app = AsyncAiApi("skyrelay", config, opts=pulumi.ResourceOptions(providers={"gcp": provider}))
    jobs = app.jobs
    return {
        "budget_topic_id": app.cost_guard.topic.id,
        "budget_id": app.cost_guard.budget.id,
        "api_url": app.api.url,
        "worker_url": jobs.worker_url,
        "firestore_database": jobs.database.name,
        "interactive_queue": jobs.interactive_queue.name,
        "batch_queue": jobs.batch_queue.name,
        "batch_bucket": jobs.batch_parts.bucket.name,
        "dashboard": jobs.dashboard.id if jobs.dashboard else None,
        "api_keys": pulumi.Output.secret({k: v.key_string for k, v in app.api.api_keys.items()}),
    }
