"""Azure components."""

from skyrelay.components.azure.api import JobsApi, JobsApiArgs, TierLimits
from skyrelay.components.azure.async_jobs import AsyncJobs, AsyncJobsArgs
from skyrelay.components.azure.cost_guard import CostGuard, CostGuardArgs

__all__ = ["AsyncJobs", "AsyncJobsArgs", "CostGuard", "CostGuardArgs", "JobsApi", "JobsApiArgs", "TierLimits"]
