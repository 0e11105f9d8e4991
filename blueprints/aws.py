"""The AWS blueprint: what `pulumi up -s aws-dev` deploys.

AsyncAiApi = CostGuard (budget, anomaly alerts, the alert topic) + AsyncJobs (queues, worker, job
table, secrets, alarms to the alert topic, dashboard) + JobsApi (REST API, tier usage plans, API
Lambda) + the runtime, packaged once as a Lambda zip that both functions run.
"""

import json

import pulumi
import pulumi_aws as aws

from skyrelay.components.aws import AsyncJobs, CostGuard, JobsApi
from skyrelay.components.aws.api import tier_limits_from_table
from skyrelay.components.aws.packaging import build_lambda_zip
from skyrelay.config import AwsSettings, StackConfig


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
            {
                "budget_amount": config.budget.amount,
                "cost_center": config.tags.cost_center,
                "currency": config.budget.currency,
                "alert_emails": list(config.budget.emails),
                "alert_thresholds": list(config.budget.alert_thresholds),
                "forecast_threshold": config.budget.forecast_threshold,
                "anomaly_threshold": config.budget.anomaly_threshold,
            },
            opts=child,
        )
        overrides = {
            "max_receive_count": settings.max_receive_count,
            "log_retention_days": settings.log_retention_days,
            "alarm_oldest_message_seconds": settings.alarm_oldest_message_seconds,
        }
        tier_env = json.dumps(
            {name.value: t.model_dump(mode="json", exclude={"name"}) for name, t in tiers.items()}, sort_keys=True
        )
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
                "environment": {"SKYRELAY_TIERS": tier_env},
                "overrides": overrides,
                **({"kms_key_arn": settings.kms_key_arn} if settings.kms_key_arn else {}),
            },
            opts=child,
        )
        self.api = JobsApi(
            "api",
            {
                "code_path": self.code_path,
                "environment": {**self.jobs.environment, "SKYRELAY_TIERS": tier_env},
                "policy_statements": self.jobs.api_statements().apply(json.dumps),
                "tiers": tier_limits_from_table(tiers),
                "api_keys": [f"{t.value}:{t.value}-demo" for t in tiers],
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
        "usage_plans": {k: v.id for k, v in app.api.usage_plans.items()},
        "api_keys": pulumi.Output.secret({k: v.value for k, v in app.api.api_keys.items()}),
    }
