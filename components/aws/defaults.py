"""Secure, production defaults for the AWS components (one table per component).

Each entry says why. Overriding an entry marked secure logs a warning naming it.
"""

from skyrelay.components.async_jobs import SHARED_DEFAULTS
from skyrelay.components.defaults import Default

COST_GUARD: dict[str, Default] = {
    "budget_time_unit": Default("MONTHLY", "budgets reset with the bill"),
    "forecast_notification": Default(True, "warn before the money is spent, not after"),
    "sns_kms_encryption": Default(
        True, "alert topic encrypted with a customer key that budgets and anomaly detection may use", secure=True
    ),
    "kms_key_rotation": Default(True, "yearly rotation of the alert topic key", secure=True),
    "kms_deletion_window_days": Default(30, "longest window to undo a key deletion", secure=True),
    "sns_tls_only": Default(True, "topic policy denies publishing without TLS", secure=True),
    "anomaly_frequency": Default("IMMEDIATE", "SNS subscribers must be IMMEDIATE; alerts arrive as found"),
    "activate_cost_allocation_tags": Default(
        True, "budgets and anomaly monitors can filter by the tags only once they are active"
    ),
}

# AsyncJobs: queues (interactive + batch, each with a DLQ), the worker Lambda, the job table,
# alarms, dashboard and secrets. Sizes that depend on the deployment (worker timeout, retention,
# concurrency) are args; these are the rules around them.
ASYNC_JOBS: dict[str, Default] = {
    **SHARED_DEFAULTS,
    "dlq_retention_seconds": Default(1209600, "14 days, the SQS maximum: time to inspect and redrive"),
    "dlq_redrive_allow_by_queue": Default(True, "only this component's queue may use its DLQ", secure=True),
    "queue_sse": Default(True, "SSE-SQS at rest (SSE-KMS with `kms_key_arn`)", secure=True),
    "queue_tls_only": Default(True, "queue policy denies sqs:* without aws:SecureTransport", secure=True),
    "visibility_timeout_factor": Default(
        6, "visibility >= 6 x worker timeout + batching window (AWS Lambda SQS guidance; lift)"
    ),
    "receive_wait_time_seconds": Default(20, "long polling: fewer empty receives, lower cost"),
    "interactive_batch_size": Default(1, "interactive jobs start as soon as they arrive"),
    "batch_batch_size": Default(10, "batch jobs are pulled ten at a time"),
    "report_batch_item_failures": Default(True, "only failed messages return to the queue (partial batch failure)"),
    "worker_tracing": Default("Active", "X-Ray active tracing on every function"),
    "log_format": Default("JSON", "structured Lambda logs, queryable in Logs Insights"),
    "lambda_runtime": Default("python3.12", "the Python the zip's wheels and .pyc are built for"),
    "lambda_architecture": Default("x86_64", "the architecture the zip's wheels are built for"),
    "reserved_concurrency": Default(True, "workers have reserved concurrency (CKV_AWS_115)", secure=True),
    "table_billing_mode": Default("PAY_PER_REQUEST", "on demand: no capacity planning, no throttling at idle"),
    "table_pitr": Default(True, "point-in-time recovery (35 days)", secure=True),
    "table_deletion_protection": Default(True, "the job table cannot be deleted by accident", secure=True),
    "table_sse": Default(True, "server-side encryption with KMS (customer key with `kms_key_arn`)", secure=True),
    "table_ttl_attribute": Default("expires_at", "job records expire (epoch seconds attribute)"),
    "secret_recovery_window_days": Default(30, "a deleted secret can be restored for 30 days", secure=True),
    "alarm_worker_errors": Default(1, "alarm on any worker error in 5 minutes"),
    "alarm_worker_throttles": Default(1, "alarm on any worker throttle in 5 minutes"),
    "sweeper_schedule": Default("rate(1 minute)", "EventBridge schedule that invokes the worker to re-enqueue PENDING jobs "
                                "that lost their message (the runtime's Sweeper); None turns it off"),
    # batch inference (`batch: True`): docs/batch.md
    "batch_schedule": Default("rate(5 minutes)", "EventBridge schedule of the batcher (form, submit and poll provider "
                              "batch jobs); provider jobs take minutes to hours, so minutes between polls cost nothing"),
    "batch_object_expiry_days": Default(8, "batch JSONL (inputs, outputs, results) expires a day after the job records"),
    "batch_bucket_sse": Default(True, "batch bucket encrypted at rest (SSE-S3, SSE-KMS with `kms_key_arn`)", secure=True),
    "batch_bucket_public_access_block": Default(True, "every public access to the batch bucket blocked (prompts and "
                                                      "answers are customer data)", secure=True),
    "batch_bucket_tls_only": Default(True, "bucket policy denies s3:* without aws:SecureTransport", secure=True),
}

# JobsApi: the REST (v1) API in front of the API Lambda, with usage plans per tier and API keys.
API: dict[str, Default] = {
    "endpoint_type": Default("REGIONAL", "regional endpoint; put CloudFront in front if you need edge caching"),
    "api_key_required": Default(True, "every method requires an API key (usage plans meter by key)", secure=True),
    "access_logs": Default(True, "JSON access logs on the stage", secure=True),
    "access_log_retention_days": Default(30, "access log retention"),
    "xray_tracing": Default(True, "X-Ray tracing on the stage"),
    "logging_level": Default("INFO", "execution logging at INFO"),
    "data_trace": Default(False, "never log request/response bodies (prompts are customer data)", secure=True),
    "metrics_enabled": Default(True, "detailed CloudWatch metrics per method"),
    "max_body_bytes": Default(
        65536, "WAF blocks larger request bodies before they reach the Lambda (64 KB: WAF's inspection maximum)", secure=True
    ),
    "waf": Default(True, "a regional WAF web ACL on the stage (body size limit)", secure=True),
    "jwt_token_minutes": Default(15, "lifetime of access and ID tokens when the JWT authorizer is on", secure=True),
    "manage_account_logging_role": Default(
        True, "set the region's API Gateway CloudWatch role (one per account and region; turn off if managed elsewhere)"
    ),
    "stage_name": Default("v1", "the deployed stage"),
}
