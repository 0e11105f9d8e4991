"""The `JobStore` port. Every adapter (SQLite, DynamoDB, Cosmos DB, Firestore) implements these five
operations with the semantics below, and tests/contracts runs one suite against all of them.

Semantics an adapter must keep:
- `create` is create-if-absent. With an idempotency key, the key is unique per tenant: a second
  create with the same (tenant, key) stores nothing and returns the first job and `created=False`.
  An expired job does not hold its key.
- `get` never returns an expired job (TTL deletion in the clouds is lazy), nor, when `tenant` is
  given, another tenant's job.
- `transition` is one conditional write: it applies only if the stored status is in `expect` (and,
  if given, the stored attempts equal `expect_attempts`). It returns the updated job, or None when
  the condition failed or the job does not exist. `to=None` updates fields and keeps the status.
- `list` returns a tenant's jobs newest first, `limit` at a time; the cursor is opaque.
- `find_idempotent` reads the live job a (tenant, idempotency key) names, without writing anything
  (submit answers a replay before it spends a rate-limit token).
- `stale` returns live jobs in one status whose `updated_at` is older than a cutoff, oldest first,
  across tenants: the sweeper's query (a job stored but never enqueued stays PENDING; the sweeper
  re-enqueues it). It needs an index on (status, updated_at) — a GSI in DynamoDB.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from skyrelay.runtime.jobs.model import Job, JobStatus


@runtime_checkable
class JobStore(Protocol):
    async def create(self, job: Job) -> tuple[Job, bool]:
        """Stores `job` unless (job.tenant, job.idempotency_key) already names a live job.

        Returns (the stored job, True) or (the existing job, False)."""

    async def get(self, job_id: str, tenant: str | None = None) -> Job | None: ...

    async def transition(self, job_id: str, expect: Iterable[JobStatus], to: JobStatus | None,
                         updates: dict | None = None, expect_attempts: int | None = None) -> Job | None:
        """Conditional write: sets `status=to` (unless None) and the `updates` fields, and bumps
        `updated_at`, only if the current status is in `expect` (and attempts == expect_attempts)."""

    async def list(self, tenant: str, limit: int = 50, cursor: str | None = None,
                   status: JobStatus | None = None) -> tuple[list[Job], str | None]:
        """A page of the tenant's live jobs, newest first, and the cursor of the next page (or None)."""

    async def find_idempotent(self, tenant: str, key: str) -> Job | None:
        """The live job that (tenant, key) names, or None. Reads only."""

    async def stale(self, status: JobStatus, updated_before: float, limit: int = 100) -> list[Job]:
        """Up to `limit` live jobs with `status` and `updated_at < updated_before`, oldest update first."""

    async def close(self) -> None: ...
