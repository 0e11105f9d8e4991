"""AWS components."""

from skyrelay.components.aws.api import JobsApi, JobsApiArgs, TierLimits
from skyrelay.components.aws.async_jobs import AsyncJobs, AsyncJobsArgs
from skyrelay.components.aws.cost_guard import CostGuard, CostGuardArgs
from skyrelay.components.aws.queues import WorkQueue, WorkQueueArgs

__all__ = [
    "AsyncJobs",
    "AsyncJobsArgs",
    "CostGuard",
    "CostGuardArgs",
    "JobsApi",
    "JobsApiArgs",
    "TierLimits",
    "WorkQueue",
    "WorkQueueArgs",
]
