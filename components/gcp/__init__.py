"""GCP components."""

from skyrelay.components.gcp.api import JobsApi, JobsApiArgs
from skyrelay.components.gcp.async_jobs import AsyncJobs, AsyncJobsArgs
from skyrelay.components.gcp.cost_guard import CostGuard, CostGuardArgs

__all__ = ["AsyncJobs", "AsyncJobsArgs", "CostGuard", "CostGuardArgs", "JobsApi", "JobsApiArgs"]
