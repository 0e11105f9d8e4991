"""AsyncJobs for GCP: interactive and batch Cloud Tasks queues pushing to a Cloud Run worker with an
OIDC token, the Firestore job store, Secret Manager secrets, alerts, the weekly dashboard, the
sweeper's and batcher's Cloud Scheduler ticks and the batch bucket.

Job lifecycle (docs/architecture.md): the API writes PENDING and creates a task; Cloud Tasks pushes
it to the worker's /tasks with an OIDC token of the `tasks` service account; the worker claims the
job (update_time precondition), runs it and moves it to COMPLETE once. A non-2xx answer is a retry
with the queue's backoff; on the last attempt (X-CloudTasks-TaskRetryCount + 1 = max_attempts =
MAX_RECEIVE_COUNT) the worker marks the job FAILED itself, as Cloud Tasks has no dead-letter queue.
The dispatch deadline (deployment.dispatch_deadline) covers the worker timeout plus the settle, so a
task is never retried while the worker still runs it; Cloud Tasks caps it at 30 minutes.
"""

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_gcp as gcp

from skyrelay import deployment as contract
from skyrelay.components.async_jobs import SharedArgs, check_worker_timeout
from skyrelay.components.defaults import resolve
from skyrelay.components.gcp import observability
from skyrelay.components.gcp import services as apis
from skyrelay.components.gcp.cloud_run import (
    RuntimeSource,
    invoker,
    runtime_source,
    service,
    service_name,
    service_url,
)
from skyrelay.components.gcp.defaults import ASYNC_JOBS
from skyrelay.components.gcp.firestore import job_store
from skyrelay.components.gcp.identities import identities
from skyrelay.components.gcp.queues import TASKS_PATH, enqueuers, queue_env, sizing, work_queue
from skyrelay.components.gcp.schedules import BATCH_PATH, SWEEP_PATH, batch_parts, scheduled_push
from skyrelay.components.gcp.secrets import job_secrets
from skyrelay.errors import ConfigError

__all__ = ["MAX_WORKER_TIMEOUT_S", "AsyncJobs", "AsyncJobsArgs", "worker_timeout"]

# The longest worker timeout whose dispatch deadline (timeout + settle) fits Cloud Tasks' 30 minutes.
MAX_WORKER_TIMEOUT_S = contract.CLOUD_TASKS_MAX_DEADLINE_S - 30
DEFAULT_LOCATION = "europe-west1"
APIS = (apis.RUN, apis.TASKS, apis.FIRESTORE, apis.SECRETS, apis.IAM, apis.STORAGE, apis.BUILD, apis.REGISTRY,
        apis.MONITORING, apis.LOGGING, apis.SCHEDULER)


class AsyncJobsArgs(SharedArgs, total=False):
    """AsyncJobs on GCP: the shared arguments (components/async_jobs.py) and these."""

    location: str
    """Region of the queues, services, bucket and schedules (default europe-west1)."""
    project: str
    """Project id (default: the provider's project)."""
    firestore_location: str
    """Firestore location id, a region or a multi-region such as eur3 (default: `location`)."""
    worker_timeout_seconds: int
    """Worker request timeout, 1-1770 (default 300): its dispatch deadline (timeout + 30 s) must fit 30 minutes."""
    worker_concurrency: int
    """Jobs one worker instance runs at once (default 8)."""
    worker_min_instances: int
    """Warm pool: instances kept running (default 0, scale to zero)."""
    worker_max_instances: int
    """Upper bound on worker instances (default: the sizing rule, quota concurrency / worker_concurrency)."""
    image: str
    """A prebuilt runtime image to run instead of building the packaged source (default: build from source)."""
    source_path: str
    """Path of the Cloud Run source zip (default: built from the installed skyrelay.runtime, see packaging)."""
    notification_channels: Sequence[pulumi.Input[str]]
    """Monitoring notification channel ids the alerts notify (the cost guard's in the blueprint; default: none)."""
    alert_emails: Sequence[str]
    """Addresses to create email notification channels for, in addition (default: none)."""
    batch: bool
    """Provider batch jobs (docs/batch.md): the batch bucket, the Vertex batch service account and the
    batcher's schedule (default False; the GCP blueprint turns it on)."""
    alert_services: Sequence[str]
    """Other Cloud Run services the 5xx alert watches besides the worker (the blueprint adds the API's; default: none)."""
    user_labels: dict[str, str]
    """Labels for the alert policies and channels (`user_labels`; default: none)."""


def worker_timeout(value: Any, key: str = "AsyncJobs.worker_timeout_seconds") -> int:
    """The worker timeout, checked against Cloud Tasks' 30-minute dispatch ceiling (naming `key`)."""
    timeout = check_worker_timeout(key, value, MAX_WORKER_TIMEOUT_S,
                                   "its dispatch deadline, timeout + 30 s, must fit Cloud Tasks' 30 minutes")
    try:
        contract.dispatch_deadline(timeout)
    except ValueError as exc:  # the contract's rule is the last word
        raise ConfigError(key, str(exc)) from None
    return timeout


class AsyncJobs(pulumi.ComponentResource):
    """Queues, worker, job store, secrets, alerts, dashboard and schedules. Children are attributes."""

    database: gcp.firestore.Database
    """The Firestore (Native) job database (PITR, delete protection, TTL on expires_at)."""
    worker: gcp.cloudrunv2.Service
    """The Cloud Run worker both queues push to (ingress internal, invoker: the tasks account only)."""
    worker_account: gcp.serviceaccount.Account
    """The worker's own service account."""
    tasks_account: gcp.serviceaccount.Account
    """The account Cloud Tasks and Scheduler mint OIDC tokens for (the worker's only invoker)."""
    api_account: gcp.serviceaccount.Account
    """The API service's account (JobsApi runs as it): enqueuer on the queues, Firestore user."""
    webhook_secret: gcp.secretmanager.Secret
    """The Standard Webhooks signing secret (its value is generated, never in config)."""
    interactive_queue: gcp.cloudtasks.Queue
    """The interactive Cloud Tasks queue."""
    batch_queue: gcp.cloudtasks.Queue
    """The batch Cloud Tasks queue."""
    worker_url: pulumi.Output[str]
    """The worker's push endpoint (https://<worker>-<project number>.<region>.run.app/tasks)."""

    def __init__(self, name: str, args: AsyncJobsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("skyrelay:gcp:AsyncJobs", name, None, opts)
        args = args or {}
        settings = resolve("AsyncJobs", ASYNC_JOBS, args.get("overrides"))
        timeout = worker_timeout(args.get("worker_timeout_seconds", 300))
        deadline = contract.dispatch_deadline(timeout)
        worker_concurrency = args.get("worker_concurrency", settings["worker_concurrency"])
        if not isinstance(worker_concurrency, int) or not 1 <= worker_concurrency <= 1000:
            raise ConfigError("AsyncJobs.worker_concurrency", f"must be 1-1000 (Cloud Run), got {worker_concurrency!r}")
        self.sizing = sizing(args.get("model_quota_rpm", 600), args.get("job_seconds_p50", 10), worker_concurrency)
        min_instances = args.get("worker_min_instances", settings["worker_min_instances"])
        max_instances = args.get("worker_max_instances", self.sizing.worker_max_instances)
        if not isinstance(max_instances, int) or max_instances < 1:
            raise ConfigError("AsyncJobs.worker_max_instances", f"must be a positive integer, got {max_instances!r}")
        if not isinstance(min_instances, int) or not 0 <= min_instances <= max_instances:
            raise ConfigError("AsyncJobs.worker_min_instances",
                              f"must be 0-{max_instances} (worker_max_instances), got {min_instances!r}")
        location = args.get("location") or DEFAULT_LOCATION
        project_arg = args.get("project")
        labels = dict(args.get("user_labels") or {})
        source_path = args.get("source_path")
        if not args.get("image") and not source_path:
            from skyrelay.components.gcp.packaging import (
                default_source_path,  # builds the zip: only when needed
            )

            source_path = default_source_path()

        info = gcp.organizations.get_project_output(project_id=project_arg, opts=pulumi.InvokeOptions(parent=self))
        project: pulumi.Input[str] = project_arg or info.project_id
        wanted = [*APIS, *((apis.AIPLATFORM,) if args.get("batch") else ())]
        self.services = apis.Services(self, name, project_arg, wanted, settings["enable_apis"])

        ids = identities(self, name, project_arg, self.services)
        self.identities = ids
        self.worker_account, self.api_account, self.tasks_account = ids.worker, ids.api, ids.tasks
        self.build_account = ids.build

        worker_name = service_name(name, "worker")
        base_url = service_url(worker_name, info.number, location)
        self.worker_url = pulumi.Output.concat(base_url, TASKS_PATH)
        worker_host = base_url.apply(lambda u: u.removeprefix("https://"))

        queue_names = {"interactive": f"{name}-interactive", "batch": f"{name}-batch"}
        rates = {"interactive": (self.sizing.interactive_rate, self.sizing.interactive_concurrency),
                 "batch": (self.sizing.batch_rate, self.sizing.batch_concurrency)}
        self.queues: dict[str, gcp.cloudtasks.Queue] = {
            p: work_queue(self, queue_names[p], location=location, project=project_arg, rate=rates[p][0],
                          concurrent=rates[p][1], worker_host=worker_host, audience=base_url,
                          tasks_email=ids.tasks.email, settings=settings, services=self.services)
            for p in contract.PRIORITIES
        }
        self.interactive_queue, self.batch_queue = self.queues["interactive"], self.queues["batch"]
        self.enqueuers = [
            m for p, q in self.queues.items()
            for m in enqueuers(self, f"{name}-{p}", q, {"api": ids.api.member, "worker": ids.worker.member})
        ]

        self.store = job_store(self, name, location_id=args.get("firestore_location") or location, project=project_arg,
                               settings=settings, services=self.services)
        self.database = self.store.database
        self.secrets = job_secrets(self, name, project=project_arg, providers=args.get("provider_secrets", ()),
                                   readers={"worker": ids.worker.member, "api": ids.api.member},
                                   settings=settings, services=self.services)
        self.webhook_secret = self.secrets.webhook

        self.batch_parts = None
        if args.get("batch"):
            self.batch_parts = batch_parts(self, name, location=location, project=project_arg,
                                           worker_member=ids.worker.member, worker_email=ids.worker.email,
                                           settings=settings, services=self.services)

        self.environment: dict[str, pulumi.Input[str]] = {
            contract.GCP_PROJECT: project,
            contract.GCP_LOCATION: location,
            contract.FIRESTORE_DATABASE: self.database.name,
            contract.FIRESTORE_COLLECTION: settings["firestore_collection"],
            contract.JOB_TTL_SECONDS: str(settings["job_ttl_days"] * 86400),
            contract.TTL_ATTRIBUTE: contract.FIRESTORE_TTL_FIELD,
            contract.MAX_RECEIVE_COUNT: str(settings["max_receive_count"]),
            **queue_env(project, location, queue_names),
            contract.WORKER_URL: self.worker_url,
            contract.TASKS_SERVICE_ACCOUNT: ids.tasks.email,
            contract.OIDC_AUDIENCE: base_url,
            contract.DISPATCH_DEADLINE_SECONDS: str(deadline),
            **({contract.BATCH_BUCKET: self.batch_parts.bucket.name} if self.batch_parts else {}),
            **dict(args.get("environment", {})),
        }
        self.secret_environment = self.secrets.env()

        self.source: RuntimeSource = runtime_source(self, name, location=location, project=project,
                                                    source_path=source_path, image=args.get("image"),
                                                    build_sa=ids.build, settings=settings, services=self.services)
        self.worker = service(
            self, f"{name}-worker", name=worker_name, role="worker", location=location, project=project_arg,
            source=self.source, service_account=ids.worker.email, ingress=settings["worker_ingress"], timeout_s=timeout,
            concurrency=worker_concurrency, min_instances=min_instances, max_instances=max_instances,
            cpu=settings["worker_cpu"], memory=settings["worker_memory"], env=self.environment,
            secret_env=self.secret_environment, settings=settings, services=self.services,
            depends_on=[*self.secrets.accessors, *ids.project_grants, self.secrets.webhook_version],
        )
        self.worker_invoker = invoker(self, f"{name}-worker-invoker-tasks", self.worker, ids.tasks.member)

        self.schedules: dict[str, gcp.cloudscheduler.Job] = {}
        ticks = {"sweep": (settings["sweeper_schedule"], SWEEP_PATH)}
        if self.batch_parts is not None:
            ticks["batch"] = (settings["batch_schedule"], BATCH_PATH)
        for key, (schedule, path) in ticks.items():
            if schedule:
                self.schedules[key] = scheduled_push(
                    self, f"{name}-{key}", job_name=f"{name}-{key}", region=location, project=project_arg,
                    schedule=schedule, url=pulumi.Output.concat(base_url, path), audience=base_url,
                    email=ids.tasks.email, attempt_deadline_s=min(deadline, 1800), services=self.services,
                    depends_on=[self.worker_invoker],
                )

        channels = list(args.get("notification_channels", ()))
        self.channels = observability.email_channels(self, name, project_arg, list(args.get("alert_emails", ())),
                                                     labels, self.services)
        channels += [c.id for c in self.channels]
        self.log_metrics = observability.log_metrics(self, name, project_arg, self.services)
        self.alert_policies = observability.alert_policies(
            self, name, project_arg, worker_name=worker_name,
            service_names=[worker_name, *args.get("alert_services", ())],
            queue_names=list(queue_names.values()), failed_metric=self.log_metrics["jobs_failed"], channels=channels,
            settings=settings, labels=labels, services=self.services,
        )
        self.dashboard = (observability.dashboard(self, name, project_arg, self.log_metrics, self.services)
                          if settings["dashboard"] else None)

        self.register_outputs({
            "database": self.database,
            "worker": self.worker,
            "worker_account": self.worker_account,
            "tasks_account": self.tasks_account,
            "api_account": self.api_account,
            "webhook_secret": self.webhook_secret,
            "interactive_queue": self.interactive_queue,
            "batch_queue": self.batch_queue,
            "worker_url": self.worker_url,
            "database_name": self.database.name,
            "interactive_queue_name": self.interactive_queue.name,
            "batch_queue_name": self.batch_queue.name,
            "webhook_secret_id": self.webhook_secret.secret_id,
            "webhook_secret_value": self.secrets.webhook_version.secret_data,
            "dashboard_id": self.dashboard.id if self.dashboard else None,
            "batch_bucket_name": self.batch_parts.bucket.name if self.batch_parts else None,
        })

