"""Secure, production defaults for the GCP components (one table per component).

Each entry says why. Overriding an entry marked secure logs a warning naming it.
"""

from skyrelay.components.async_jobs import SHARED_DEFAULTS
from skyrelay.components.defaults import Default

# Cloud Billing publishes budget notifications as this service account.
BUDGET_PUBLISHER = "serviceAccount:billing-budget-alert@system.gserviceaccount.com"

COST_GUARD: dict[str, Default] = {
    "budget_calendar_period": Default("MONTH", "budgets reset with the bill"),
    "forecast_notification": Default(True, "warn before the money is spent, not after"),
    "credit_types_treatment": Default("INCLUDE_ALL_CREDITS", "spend as billed, net of credits (the API's default)"),
    "disable_default_iam_recipients": Default(False, "billing admins get the budget emails as well"),
    "pubsub_schema_version": Default("1.0", "the only budget notification schema"),
    "topic_message_retention": Default("604800s", "a late subscriber can replay a week of budget messages"),
    "topic_pin_region": Default(True, "budget messages are stored only in the stack's region", secure=True),
    "enable_apis": Default(True, "Budgets, Pub/Sub and Monitoring APIs on, kept on when the stack is destroyed"),
    "spend_driver_alert": Default(
        True, "GCP has no anomaly resource: alert when the spend driver's request rate jumps over its baseline"
    ),
    "spend_driver_services": Default(
        ("aiplatform.googleapis.com",), "APIs whose consumer request rate drives the bill (Vertex AI)"
    ),
    "spend_driver_window": Default("1h", "rate window; smooths bursts shorter than this"),
    "spend_driver_baseline_offset": Default("1w", "compare with the same hour a week ago (weekly seasonality)"),
    "spend_driver_spike_factor": Default(3.0, "fire when the rate is this many times its baseline"),
    "spend_driver_min_rate": Default(0.05, "requests/s floor, so an idle project's first calls do not page"),
}

# AsyncJobs: Cloud Tasks queues, the Cloud Run worker, Firestore, Secret Manager, alerts, dashboard,
# the batch bucket and the scheduler's ticks. The shared half (components/async_jobs.py) comes first.
ASYNC_JOBS: dict[str, Default] = {
    **SHARED_DEFAULTS,
    # ---- Cloud Tasks ----
    "tasks_min_backoff": Default("2s", "first retry waits 2 s (the provider's 429s clear in seconds)"),
    "tasks_max_backoff": Default("300s", "retries back off to at most 5 minutes"),
    "tasks_max_doublings": Default(5, "the backoff doubles five times, then grows linearly"),
    "tasks_max_retry_duration": Default("86400s", "a task stops retrying a day after its first attempt"),
    "tasks_logging_sampling_ratio": Default(1.0, "every dispatch attempt is logged (Cloud Tasks logs are off by default)"),
    "tasks_oidc": Default(True, "every push carries an OIDC token of the enqueuer service account", secure=True),
    # ---- the Cloud Run worker ----
    "worker_ingress": Default("INGRESS_TRAFFIC_INTERNAL_ONLY", "the worker is reached by Cloud Tasks and Scheduler only",
                              secure=True),
    "worker_concurrency": Default(8, "jobs one worker instance runs at once (provider calls are I/O bound)"),
    "worker_min_instances": Default(0, "the warm pool: 0 scales to zero (first push waits a cold start; see docs/gcp.md)"),
    "worker_cpu": Default("1", "one vCPU per instance"),
    "worker_memory": Default("1Gi", "memory per instance"),
    "worker_cpu_idle": Default(True, "CPU only during requests: the work happens inside the push, so no CPU is billed idle"),
    "worker_startup_cpu_boost": Default(True, "extra CPU while an instance starts: shorter cold starts"),
    "deletion_protection": Default(True, "Cloud Run services cannot be deleted by accident", secure=True),
    "invoker_iam_disabled": Default(False, "Cloud Run checks roles/run.invoker on every request", secure=True),
    "python_base_image": Default("serverless-runtimes/google-22/runtimes/python312",
                                 "the Python the source build runs (Artifact Registry path in the stack's region)"),
    "artifact_keep_count": Default(10, "the Artifact Registry repository keeps the 10 newest built images"),
    # ---- Firestore ----
    "firestore_type": Default("FIRESTORE_NATIVE", "Native mode: documents, transactions, TTL"),
    "firestore_pitr": Default(True, "point-in-time recovery (7 days)", secure=True),
    "firestore_delete_protection": Default(True, "the job database cannot be deleted by accident", secure=True),
    "firestore_deletion_policy": Default("ABANDON", "`pulumi destroy` leaves the database (and its jobs) in place",
                                         secure=True),
    "firestore_concurrency_mode": Default("OPTIMISTIC", "the store's update_time preconditions, no pessimistic locks"),
    "firestore_collection": Default("jobs", "the collection of jobs, idempotency keys and limiter counters"),
    "firestore_backup_retention": Default("604800s", "daily backups kept 7 days", secure=True),
    # ---- Secret Manager ----
    "secret_replication": Default("auto", "Google-managed replication of every secret"),
    "secret_deletion_protection": Default(True, "a secret cannot be deleted by accident", secure=True),
    # ---- observability ----
    "alarm_failed_jobs": Default(1, "alert on any job that ends FAILED in 5 minutes"),
    "alarm_5xx_per_minute": Default(1, "alert when a Cloud Run service answers 5xx for 5 minutes"),
    "alarm_latency_p99_ms": Default(60000, "alert when the worker's p99 request latency exceeds a minute"),
    "alarm_queue_depth": Default(100, "alert when a queue holds this many tasks for 10 minutes"),
    # ---- the scheduler (sweep) and batch work ----
    "sweeper_schedule": Default("* * * * *", "Cloud Scheduler POSTs /sweep every minute (OIDC) to re-enqueue PENDING "
                                "jobs that lost their task; None turns it off"),
    "batch_schedule": Default("*/5 * * * *", "Cloud Scheduler POSTs /batch every 5 minutes (OIDC): one batcher tick"),
    "batch_object_expiry_days": Default(8, "batch JSONL expires a day after the job records"),
    "batch_bucket_uniform_access": Default(True, "uniform bucket-level access: IAM only, no object ACLs", secure=True),
    "batch_bucket_public_access_prevention": Default("enforced", "the batch bucket can never be public (prompts and "
                                                     "answers are customer data)", secure=True),
    "batch_bucket_versioning": Default(False, "results are written once; expiry deletes them"),
    "enable_apis": Default(True, "every API a resource needs is enabled first, and kept on when the stack is destroyed"),
}

# JobsApi: API Gateway in front of the API Cloud Run service.
API: dict[str, Default] = {
    "api_key_required": Default(True, "every operation requires an API key (x-api-key header)", secure=True),
    "quota_metric": Default("skyrelay-requests", "the x-google-management metric every operation costs 1 of"),
    "api_ingress": Default("INGRESS_TRAFFIC_ALL", "the API service is reached by the gateway (a Google front end); "
                           "only the gateway's service account may invoke it"),
    "api_concurrency": Default(80, "requests one API instance serves at once"),
    "api_min_instances": Default(0, "scale to zero between requests"),
    "api_max_instances": Default(20, "upper bound on API instances"),
    "api_cpu": Default("1", "one vCPU per API instance"),
    "api_memory": Default("512Mi", "memory per API instance"),
    "deletion_protection": Default(True, "the API service cannot be deleted by accident", secure=True),
    "max_body_bytes": Default(65536, "the API refuses larger request bodies (the same limit as AWS)", secure=True),
    "backend_deadline_seconds": Default(60.0, "x-google-backend deadline: the gateway waits this long for the API"),
}
