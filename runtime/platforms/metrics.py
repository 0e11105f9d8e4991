"""The job metric line every platform's worker writes when a job reaches a final state, shared by the
Cloud Run and Azure Functions workers (each chooses where the line goes: stdout on Cloud Run, the
`skyrelay.metrics` logger on Functions, which the host sends to App Insights as a trace).

The line is the Embedded Metric Format document the Lambda worker prints too (runtime/batch/observe.py
emf()): `Jobs`, `Tokens`, `CostUsd`, `CacheHits` (the prompt cache served part of the input),
`LatencyMs` (submit to final), by `Tenant` and `Mode`, plus the job's final `Status`. The field names
are the deployment contract's (GCP_METRIC_FIELDS, AZURE_METRIC_FIELDS): the clouds' dashboards read them.
"""

import json

from skyrelay import deployment as contract


def job_metrics(job, now: float | None = None) -> str:
    """The metric line of a job that just reached a final state."""
    import time

    from skyrelay.runtime.batch.observe import emf

    usage = job.usage or {}
    metrics = {"Jobs": 1, "Tokens": usage.get("total_tokens") or 0, "CostUsd": job.cost or 0.0,
               "CacheHits": 1 if usage.get("cache_read_tokens") else 0,
               "LatencyMs": round(((job.finished_at or job.updated_at) - job.created_at) * 1000, 1)}
    doc = json.loads(emf(metrics, {"Tenant": job.tenant, "Mode": "on_demand"}, now or time.time()))
    doc[contract.GCP_JOB_STATUS_FIELD] = job.status.value
    return json.dumps(doc, separators=(",", ":"))


class ObservedStore:
    """The worker's view of the store: a transition into a final state (a conditional write, so once
    per job) writes the job's metric line."""

    def __init__(self, store, write):
        self.store, self.write = store, write

    async def transition(self, job_id, expect, to, updates=None, expect_attempts=None):
        out = await self.store.transition(job_id, expect, to, updates, expect_attempts)
        if out is not None and to is not None and out.status.final:
            self.write(job_metrics(out))
        return out

    def __getattr__(self, name):
        return getattr(self.store, name)
