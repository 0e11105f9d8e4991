"""What every cloud's AsyncJobs shares, one floor above the cloud folders: the Args every cloud takes,
the cloud-neutral defaults, and the sizing rules.

- **Concurrency (Little's law).** The workers need about arrival rate x duration jobs in flight, at
  the rate the model quota allows: `concurrency(rpm, p50)` = ceil(rpm / 60 x p50). More only queues
  at the provider (429s); fewer leaves quota idle. Each cloud caps it where it caps workers: event
  source mappings' maximum concurrency (AWS), `maximumInstanceCount` (Azure Flex), Cloud Tasks'
  `max_concurrent_dispatches` and Cloud Run's max instances (GCP). `split` shares it 3:1 between the
  interactive and batch queues.
- **Redelivery waits longer than the worker.** A message must not come back while a worker still
  holds it: `redelivery_after(timeout)` is the least time a queue may hide a message (SQS
  visibility, Service Bus lock plus renewal, Cloud Tasks dispatch deadline).
- **Timeouts and retention** are checked before anything is registered, naming the key.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import pulumi

from skyrelay.components.defaults import Default
from skyrelay.errors import ConfigError

# The cloud-neutral half of every cloud's ASYNC_JOBS defaults table (each <cloud>/defaults.py adds its own).
SHARED_DEFAULTS: dict[str, Default] = {
    "max_receive_count": Default(5, "deliveries before a message is dead-lettered (lift: 3-5; SC: 15 is slow to fail)"),
    "job_ttl_days": Default(7, "how long job records and results are kept"),
    "log_retention_days": Default(30, "explicit log retention on every worker log"),
    "alarm_dlq_depth": Default(0, "alarm when any message reaches a DLQ (lift)"),
    "alarm_oldest_message_seconds": Default(600, "alarm when the oldest queued job waits this long"),
    "dashboard": Default(True, "weekly-review dashboard: tokens/request, cost/tenant, cache hits, latency, batch split"),
}
INTERACTIVE_SHARE = (3, 4)  # of the worker concurrency, for the interactive queue


class SharedArgs(TypedDict, total=False):
    """The AsyncJobs arguments every cloud takes, with the same meaning (each cloud adds its own)."""

    model_quota_rpm: int
    """Provider model quota the workers share, requests per minute (default 600)."""
    job_seconds_p50: float
    """Typical job duration in seconds (default 10); with the quota, sizes the workers' concurrency."""
    provider_secrets: Sequence[str]
    """Names of provider API key secrets to create (default: none; values are put out of band, never in config)."""
    environment: Mapping[str, pulumi.Input[str]]
    """Extra environment for the worker (default: none; no secrets: use `provider_secrets`)."""
    overrides: dict[str, Any]
    """Changes to the defaults table (see the component README)."""


def concurrency(model_quota_rpm: int, job_seconds_p50: float, key: str = "AsyncJobs") -> int:
    """Little's law at the quota's rate: concurrent jobs = rpm / 60 x p50 seconds, at least 1."""
    if not isinstance(model_quota_rpm, int | float) or model_quota_rpm <= 0:
        raise ConfigError(f"{key}.model_quota_rpm", f"must be a positive number, got {model_quota_rpm!r}")
    if not isinstance(job_seconds_p50, int | float) or job_seconds_p50 <= 0:
        raise ConfigError(f"{key}.job_seconds_p50", f"must be a positive number of seconds, got {job_seconds_p50!r}")
    return max(1, math.ceil(model_quota_rpm / 60 * job_seconds_p50))


def split(total: int, minimum: int = 1) -> tuple[int, int]:
    """(interactive, batch) shares of `total`, 3:1, each at least `minimum`."""
    num, den = INTERACTIVE_SHARE
    interactive = max(minimum, total * num // den)
    return interactive, max(minimum, total - interactive)


def redelivery_after(worker_timeout_s: int, factor: int = 1, extra_s: int = 0) -> int:
    """The least time a queue may keep a delivered message from coming back: `factor` x the worker
    timeout (AWS's guidance for Lambda is 6) plus what else holds it (a batching window)."""
    return factor * worker_timeout_s + extra_s


def check_worker_timeout(key: str, timeout: Any, maximum: int, why: str) -> int:
    if isinstance(timeout, bool) or not isinstance(timeout, int) or not 1 <= timeout <= maximum:
        raise ConfigError(key, f"must be 1-{maximum} seconds ({why}), got {timeout!r}")
    return timeout


def check_retention(key: str, retention: int, timeout: int, timeout_key: str = "worker_timeout_seconds") -> int:
    """A message must outlive the worker that holds it, or it expires mid-run."""
    if retention < timeout:
        raise ConfigError(key, f"must be at least {timeout_key} ({timeout})")
    return retention
