"""The `jobs:` section of the router config: store, queue, worker and webhook settings.

    jobs:
      store:   {backend: sqlite, path: .skyrelay/jobs.db, ttl_s: 604800}
      queue:   {backend: sqlite, visibility_timeout_s: 120, max_receives: 10, max_depth: 10000}
      worker:  {workers: 1, concurrency: 16, max_attempts: 3}   # workers: processes beside the API
      webhooks:
        secrets: {acme: ["whsec_..."]}        # two entries while rotating: both sign every delivery
        allow_hosts: ["127.0.0.1/32"]         # SSRF allow-list: host names or CIDRs
"""

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreConfig(_M):
    backend: str = Field(default="sqlite", description="an adapter name registered in runtime/stores")
    path: str = Field(default=".skyrelay/jobs.db", description="SQLite file (sqlite backend)")
    ttl_s: float = Field(default=7 * 24 * 3600.0, gt=0, description="records expire this long after submit")
    options: dict = Field(default={}, description="adapter-specific settings (table name, endpoint, ...)")


class QueueConfig(_M):
    backend: str = Field(default="sqlite", description="an adapter name registered in runtime/queues")
    path: str | None = Field(default=None, description="SQLite file; defaults to the store's file")
    visibility_timeout_s: float = Field(default=120.0, gt=0, description="must exceed the router's request deadline")
    max_receives: int = Field(default=10, gt=0, description="deliveries before the queue itself dead-letters a message")
    max_depth: int = Field(default=10_000, gt=0, description="submit answers 503 + Retry-After above this depth")
    retry_after_s: float = Field(default=5.0, gt=0, description="Retry-After on a back-pressure 503")
    options: dict = {}


class WorkerConfig(_M):
    workers: int = Field(default=1, ge=0, description="worker processes `skyrelay serve` starts (in-process workers "
                                                     "with `in_process: true`)")
    in_process: bool = Field(default=False, description="run the workers in the API's event loop (one process)")
    concurrency: int = Field(default=16, gt=0, description="jobs in flight per worker; size as quota / tokens per request")
    max_attempts: int = Field(default=3, gt=0, description="router attempts before a job is FAILED and dead-lettered")
    stream_sync: bool = Field(
        default=False, description="read each job's answer from an upstream stream, so a hung upstream is hedged "
                                   "after its TTFT (as `timeouts.stream_sync` does for the API); off: one plain "
                                   "call bounded by `timeouts.attempt_s`, at about 30% less CPU per job")
    backoff_base_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=60.0, ge=0)
    poll_interval_s: float = Field(default=0.05, gt=0, description="idle wait between empty receives")
    shutdown_grace_s: float = Field(default=10.0, ge=0, description="time in-flight jobs get to finish on shutdown")
    sweep_interval_s: float = Field(
        default=30.0, ge=0, description="how often a worker re-enqueues PENDING jobs that lost their message; 0: never")
    sweep_grace_s: float = Field(
        default=120.0, gt=0, description="a PENDING job untouched this long is re-enqueued; keep it above the usual queue wait")
    sweep_batch: int = Field(default=500, gt=0, description="stale jobs looked at per sweep")
    restart_backoff_s: float = Field(
        default=1.0, ge=0, description="`skyrelay serve` restarts a dead worker process after this long, doubling "
                                       "for each death in a row")
    restart_backoff_max_s: float = Field(default=30.0, ge=0, description="the longest wait before a restart")


class WebhookConfig(_M):
    secrets: dict[str, tuple[str, ...]] = Field(
        default={}, description="tenant -> signing secrets (whsec_<base64>); two while rotating")
    secret_envs: dict[str, tuple[str, ...]] = Field(
        default={}, description="tenant -> names of env vars holding secrets (production)")
    allow_hosts: tuple[str, ...] = Field(default=(), description="SSRF allow-list: host names or CIDRs")
    require_https: bool = False
    timeout_s: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=5, gt=0)
    backoff_base_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=300.0, ge=0)

    @field_validator("secrets", "secret_envs")
    @classmethod
    def _at_most_two(cls, v: dict) -> dict:
        for tenant, values in v.items():
            if not 1 <= len(values) <= 2:
                raise ValueError(f"{tenant}: give one secret, or two while rotating")
        return v

    def secrets_for(self, tenant: str) -> tuple[str, ...]:
        out = list(self.secrets.get(tenant, ()))
        for name in self.secret_envs.get(tenant, ()):
            value = os.environ.get(name)
            if value:
                out.append(value)
        return tuple(out)


class StorageConfig(_M):
    backend: str = Field(default="local", description="an adapter registered in runtime/storage: local, s3, blob, gcs")
    options: dict = Field(default={"root": ".skyrelay/objects"}, description="adapter settings (root, bucket, "
                                                                             "container, endpoint, prefix)")


class BatchConfig(_M):
    """Batch work: the OpenAI Batch API (/v1/files, /v1/batches) and `POST /v1/jobs` with `mode: batch`
    (docs/batch.md). Each deployment's own `batch:` section says whether and how it takes provider jobs."""

    enabled: bool = Field(default=True, description="serve /v1/files and /v1/batches and run the batcher")
    storage: StorageConfig = StorageConfig()
    tick_s: float = Field(default=30.0, gt=0, description="how often a local worker runs the batcher (on Lambda: "
                                                          "the EventBridge schedule)")
    max_file_bytes: int = Field(default=100 * 1024 * 1024, gt=0, description="largest upload to POST /v1/files")
    max_lines: int = Field(default=50_000, gt=0, description="most requests in one batch file")
    lease_s: float = Field(default=600.0, gt=0, description="a batcher step (submit, apply) held this long by one "
                                                            "run; another run takes over after it")


class JobsConfig(_M):
    store: StoreConfig = StoreConfig()
    queue: QueueConfig = QueueConfig()
    worker: WorkerConfig = WorkerConfig()
    webhooks: WebhookConfig = WebhookConfig()
    batch: BatchConfig = BatchConfig()
    default_priority: Literal["interactive", "batch"] = "interactive"
    max_metadata_bytes: int = Field(default=4096, gt=0)
    list_page_max: int = Field(default=100, gt=0)
