"""AsyncJobs for AWS: interactive and batch SQS queues (each with a DLQ), the worker Lambda, the
DynamoDB job table, Secrets Manager secrets, alarms to the cost-guard topic and a dashboard.

Job lifecycle (see ARCHITECTURE.md): the API writes PENDING and sends a message; the worker claims
it (conditional write), runs it, and moves it to COMPLETE once. A message that fails
`max_receive_count` times is dead-lettered, and the worker marks its job FAILED on that last attempt.
"""

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from skyrelay import deployment as contract
from skyrelay.components.async_jobs import (
    SharedArgs,
    check_retention,
    check_worker_timeout,
    concurrency,
    split,
)
from skyrelay.components.aws import observability
from skyrelay.components.aws.batch import api_statements as batch_api_statements
from skyrelay.components.aws.batch import batch_bucket, job_arn
from skyrelay.components.aws.batch import worker_statements as batch_worker_statements
from skyrelay.components.aws.code_path import default_code_path
from skyrelay.components.aws.defaults import ASYNC_JOBS
from skyrelay.components.aws.job_secrets import provider_secret_env, provider_secrets, webhook_secret
from skyrelay.components.aws.jobs_table import STATUS_INDEX, TENANT_INDEX, job_table
from skyrelay.components.aws.queues import WorkQueue
from skyrelay.components.aws.statements import api_policy, bedrock_statement, worker_policy
from skyrelay.components.aws.sweeper import SWEEP_EVENT, batcher, keep_alive, sweeper
from skyrelay.components.aws.warm_pool import WarmPoolArgs, check_warm_pool, warm_pool
from skyrelay.components.aws.worker import build_function, function_name
from skyrelay.components.defaults import resolve
from skyrelay.errors import ConfigError

__all__ = [
    "STATUS_INDEX", "SWEEP_EVENT", "TENANT_INDEX", "WORKER_HANDLER", "AsyncJobs", "AsyncJobsArgs",
    "api_policy", "bedrock_statement", "max_concurrency", "worker_policy",
]

WORKER_HANDLER = "skyrelay.runtime.platforms.aws_lambda.worker.handler"


class AsyncJobsArgs(SharedArgs, total=False):
    """AsyncJobs on AWS: the shared arguments (components/async_jobs.py) and these."""

    code_path: str
    """Path of the Lambda zip (default: built from the installed skyrelay.runtime, see packaging)."""
    worker_timeout_seconds: int
    """Worker Lambda timeout, 1-900 (default 120). Sizes the queues' visibility timeout."""
    worker_memory_mb: int
    """Worker Lambda memory (default 1024)."""
    batching_window_seconds: int
    """Batching window of the batch queue's event source mapping (default 5; interactive uses 0)."""
    queue_retention_seconds: int
    """Job message retention (default 4 days); at least the worker timeout."""
    reserved_concurrency: int
    """Reserved concurrency of the worker (default 100); caps both event source mappings together."""
    alarm_topic_arn: pulumi.Input[str]
    """SNS topic for alarms (the cost guard's topic in the blueprint; default: none, alarms without actions)."""
    kms_key_arn: pulumi.Input[str]
    """Customer KMS key for queues, table, logs and secrets (default: AWS-managed encryption)."""
    bedrock_model_arns: Sequence[str]
    """Bedrock foundation-model ARNs the router config's SigV4 deployments call; the worker (and, via
    `api_statements()`, the API) may invoke exactly these (default: none, no Bedrock access)."""
    batch: bool
    """Provider batch jobs (docs/batch.md): the batch bucket, Bedrock's batch service role and the batcher's
    schedule (default False; the AWS blueprint turns it on)."""
    warm_pool: WarmPoolArgs
    """The worker's warm pool on its `live` alias: provisioned concurrency and optional target-tracking
    autoscaling (default: the alias only, no provisioned concurrency; warm_pool.py)."""
    keep_alive: Sequence[str]
    """Router deployments the worker pings every 5 minutes to keep a model loaded (default: none)."""


def max_concurrency(model_quota_rpm: int, job_seconds_p50: float, reserved: int) -> tuple[int, int]:
    """The shared concurrency rule (components/async_jobs.py) on the two event source mappings:
    each >= 2 (the SQS minimum) and <= 1000, together <= the worker's reserved concurrency."""
    if reserved < 4:
        raise ConfigError("AsyncJobs.reserved_concurrency", "must be at least 4 (2 per event source mapping)")
    total = min(max(4, concurrency(model_quota_rpm, job_seconds_p50)), reserved)
    interactive, batch = (min(1000, n) for n in split(total, minimum=2))
    if interactive + batch > reserved:
        interactive = reserved - batch
    return interactive, batch


class AsyncJobs(pulumi.ComponentResource):
    """Queues, worker, table, secrets, alarms and dashboard for asynchronous jobs. Children are attributes."""

    # The annotated attributes are the component's schema outputs (pulumi.provider.experimental);
    # the other children (`interactive`, `batch`, alarms, ...) are plain attributes.
    table: aws.dynamodb.Table
    """The DynamoDB job table (records expire by TTL; PITR and deletion protection by default)."""
    worker: aws.lambda_.Function
    """The worker Lambda both queues deliver to."""
    worker_role: aws.iam.Role
    """The worker's execution role (least privilege: its queues, table, secrets)."""
    worker_log_group: aws.cloudwatch.LogGroup
    """The worker's log group, with explicit retention."""
    webhook_secret: aws.secretsmanager.Secret
    """The Standard Webhooks signing secret (its value is generated, never in config)."""
    interactive_queue_url: pulumi.Output[str]
    """URL of the interactive job queue."""
    interactive_queue_arn: pulumi.Output[str]
    """ARN of the interactive job queue."""
    batch_queue_url: pulumi.Output[str]
    """URL of the batch job queue."""
    batch_queue_arn: pulumi.Output[str]
    """ARN of the batch job queue."""
    interactive_dlq_url: pulumi.Output[str]
    """URL of the interactive queue's dead-letter queue."""
    batch_dlq_url: pulumi.Output[str]
    """URL of the batch queue's dead-letter queue."""

    def __init__(self, name: str, args: AsyncJobsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("skyrelay:aws:AsyncJobs", name, None, opts)
        args = args or {}
        settings = resolve("AsyncJobs", ASYNC_JOBS, args.get("overrides"))
        timeout = check_worker_timeout("AsyncJobs.worker_timeout_seconds", args.get("worker_timeout_seconds", 120),
                                       900, "Lambda maximum")
        window = args.get("batching_window_seconds", 5)
        retention = check_retention("AsyncJobs.queue_retention_seconds", args.get("queue_retention_seconds", 345600),
                                    timeout)
        reserved = args.get("reserved_concurrency", 100)
        pool_args = check_warm_pool("AsyncJobs.warm_pool", args.get("warm_pool"), reserved)
        self.max_concurrency = max_concurrency(args.get("model_quota_rpm", 600), args.get("job_seconds_p50", 10), reserved)
        kms = args.get("kms_key_arn")
        self._kms = kms
        topic = args.get("alarm_topic_arn")
        code_path = args.get("code_path") or default_code_path()
        child = pulumi.ResourceOptions(parent=self)
        overrides = args.get("overrides")

        def queue_args(window_seconds: int) -> dict[str, Any]:
            return {"consumer_timeout_seconds": timeout, "batching_window_seconds": window_seconds,
                    "retention_seconds": retention, **({"kms_key_arn": kms} if kms is not None else {}),
                    **({"overrides": overrides} if overrides else {})}

        self.interactive = WorkQueue(f"{name}-interactive", queue_args(0), opts=child)
        self.batch = WorkQueue(f"{name}-batch", queue_args(window), opts=child)
        self.table = job_table(self, name, settings, kms)
        self.webhook_secret, self.webhook_secret_version = webhook_secret(self, name, settings, kms)
        self.provider_secrets: dict[str, aws.secretsmanager.Secret] = provider_secrets(
            self, name, args.get("provider_secrets", ()), settings, kms
        )

        self._bedrock = bedrock_statement(list(args.get("bedrock_model_arns", ())))
        # Batch inference: the bucket and Bedrock's role (batch.py); their names travel in the contract.
        self.batch_parts = batch_bucket(self, name, settings, kms) if args.get("batch") else None
        batch_env = {contract.BATCH_BUCKET: self.batch_parts.bucket.bucket,
                     contract.BATCH_ROLE_ARN: self.batch_parts.role.arn} if self.batch_parts else {}
        self.environment: dict[str, pulumi.Input[str]] = {
            contract.JOBS_TABLE: self.table.name,
            contract.queue_url("interactive"): self.interactive.queue.url,
            contract.queue_url("batch"): self.batch.queue.url,
            # The worker dead-letters a job's message itself on its last attempt.
            contract.dlq_url("interactive"): self.interactive.dlq.url,
            contract.dlq_url("batch"): self.batch.dlq.url,
            contract.secret_ref(contract.WEBHOOK_SECRET): self.webhook_secret.arn,
            # One variable per provider, holding the secret's ARN (never its value).
            **provider_secret_env(self.provider_secrets),
            contract.MAX_RECEIVE_COUNT: str(settings["max_receive_count"]),
            contract.JOB_TTL_SECONDS: str(settings["job_ttl_days"] * 86400),
            contract.TTL_ATTRIBUTE: settings["table_ttl_attribute"],
            "POWERTOOLS_SERVICE_NAME": "skyrelay-worker",
            "POWERTOOLS_METRICS_NAMESPACE": observability.METRIC_NAMESPACE,
            **batch_env,
            **dict(args.get("environment", {})),
        }
        secret_arns = self._secret_arns()
        worker_statements = pulumi.Output.all(
            self.interactive.queue.arn, self.batch.queue.arn, self.table.arn, pulumi.Output.all(*secret_arns), kms,
            pulumi.Output.all(self.interactive.dlq.arn, self.batch.dlq.arn),
        ).apply(lambda a: worker_policy(a[0], a[1], a[2], list(a[3]), a[4], list(a[5])) + self._bedrock)
        if self.batch_parts is not None:
            models = list(args.get("bedrock_model_arns", ()))
            worker_statements = pulumi.Output.all(
                worker_statements, self.batch_parts.bucket.arn, self.batch_parts.role.arn, job_arn(self),
            ).apply(lambda a: list(a[0]) + batch_worker_statements(a[1], a[2], a[3], same_region(models, a[3])))
        fn_name = function_name(name, "worker")
        parts = build_function(
            self,
            f"{name}-worker",
            fn_name,
            code_path=code_path,
            handler=WORKER_HANDLER,
            timeout=timeout,
            memory_mb=args.get("worker_memory_mb", 1024),
            environment=self.environment,
            statements=worker_statements,
            settings=settings,
            reserved_concurrency=reserved,
            kms_key_arn=kms,
            description="skyrelay job worker (SQS, partial batch failures)",
        )
        self.worker, self.worker_role, self.worker_log_group = parts.function, parts.role, parts.log_group
        self.worker_role_policy = parts.role_policy
        # Callers invoke the `live` alias, where the warm pool is (warm_pool.py).
        self.warm = warm_pool(self, f"{name}-worker", self.worker, pool_args)

        self.event_source_mappings = [
            aws.lambda_.EventSourceMapping(
                f"{name}-{kind}",
                event_source_arn=wq.queue.arn,
                function_name=self.warm.alias.arn,
                batch_size=settings[f"{kind}_batch_size"],
                maximum_batching_window_in_seconds=win,
                function_response_types=["ReportBatchItemFailures"] if settings["report_batch_item_failures"] else [],
                scaling_config=aws.lambda_.EventSourceMappingScalingConfigArgs(maximum_concurrency=conc),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.worker_role_policy]),
            )
            for kind, wq, win, conc in (
                ("interactive", self.interactive, 0, self.max_concurrency[0]),
                ("batch", self.batch, window, self.max_concurrency[1]),
            )
        ]

        # The sweeper (see sweeper.py): a schedule invokes the worker to re-enqueue lost jobs.
        self.sweeper_rule = None
        self.sweeper_target = None
        self.sweeper_permission = None
        if settings["sweeper_schedule"]:
            self.sweeper_rule, self.sweeper_permission, self.sweeper_target = sweeper(
                self, name, settings["sweeper_schedule"], self.worker, self.warm.alias
            )

        # The batcher's schedule: one tick of runtime/batch per invocation.
        self.batcher_rule = self.batcher_permission = self.batcher_target = None
        if self.batch_parts is not None:
            self.batcher_rule, self.batcher_permission, self.batcher_target = batcher(
                self, name, settings["batch_schedule"], self.worker, self.warm.alias
            )
        self.keepalive_rule = self.keepalive_permission = self.keepalive_target = None
        if args.get("keep_alive"):
            self.keepalive_rule, self.keepalive_permission, self.keepalive_target = keep_alive(
                self, name, self.worker, self.warm.alias, list(args["keep_alive"])
            )

        self.alarms = [
            *observability.queue_alarms(self, f"{name}-interactive", self.interactive.queue, self.interactive.dlq, topic, settings),
            *observability.queue_alarms(self, f"{name}-batch", self.batch.queue, self.batch.dlq, topic, settings),
            *observability.function_alarms(self, f"{name}-worker", self.worker, topic, settings),
        ]
        self.dashboard = None
        if settings["dashboard"]:
            region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
            self.dashboard = observability.dashboard(
                self,
                f"{name}-review",
                region,
                self.worker.name,
                [self.interactive.queue.name, self.batch.queue.name],
                [self.interactive.dlq.name, self.batch.dlq.name],
            )
        self.interactive_queue_url = self.interactive.queue.url
        self.interactive_queue_arn = self.interactive.queue.arn
        self.batch_queue_url = self.batch.queue.url
        self.batch_queue_arn = self.batch.queue.arn
        self.interactive_dlq_url = self.interactive.dlq.url
        self.batch_dlq_url = self.batch.dlq.url
        self.register_outputs(
            {
                "table": self.table,
                "worker": self.worker,
                "worker_role": self.worker_role,
                "worker_log_group": self.worker_log_group,
                "webhook_secret": self.webhook_secret,
                "table_name": self.table.name,
                "table_arn": self.table.arn,
                "interactive_queue_url": self.interactive.queue.url,
                "interactive_queue_arn": self.interactive.queue.arn,
                "batch_queue_url": self.batch.queue.url,
                "batch_queue_arn": self.batch.queue.arn,
                "interactive_dlq_url": self.interactive.dlq.url,
                "batch_dlq_url": self.batch.dlq.url,
                "worker_function_name": self.worker.name,
                "worker_function_arn": self.worker.arn,
                "webhook_secret_arn": self.webhook_secret.arn,
                "webhook_secret_value": self.webhook_secret_version.secret_string,
                "dashboard_name": self.dashboard.dashboard_name if self.dashboard else None,
                "batch_bucket_name": self.batch_parts.bucket.bucket if self.batch_parts else None,
                "batch_role_arn": self.batch_parts.role.arn if self.batch_parts else None,
            }
        )

    def _secret_arns(self) -> list[pulumi.Output[str]]:
        return [self.webhook_secret.arn, *[s.arn for s in self.provider_secrets.values()]]

    def api_statements(self) -> pulumi.Output[list[dict[str, Any]]]:
        """What the API Lambda may do: read/write the job table, send to both queues (and read their
        depth for back-pressure), read the secrets. Nothing else."""
        secret_arns = self._secret_arns()
        statements = pulumi.Output.all(
            self.interactive.queue.arn, self.batch.queue.arn, self.table.arn, pulumi.Output.all(*secret_arns),
            getattr(self, "_kms", None),
        ).apply(lambda a: api_policy(a[0], a[1], a[2], list(a[3]), a[4]) + self._bedrock)
        if self.batch_parts is None:
            return statements
        return pulumi.Output.all(statements, self.batch_parts.bucket.arn).apply(
            lambda a: list(a[0]) + batch_api_statements(a[1]))


def same_region(model_arns: list[str], job_arn: str) -> list[str]:
    """The model ARNs in the batch jobs' region: Bedrock batch inference runs where the job is created,
    beside its bucket, so a failover region's models (on demand only) need no batch permission."""
    region = job_arn.split(":")[3]
    return [m for m in model_arns if m.split(":")[3] == region]
