"""What every JobStore does the same way, written once: the transition steps (check the expected
status and attempts, merge, bump `updated_at`), the idempotent create, the expiry and tenant checks,
and the list cursor.

`VersionedStore` is the template for stores behind a network API (DynamoDB; Cosmos DB and Firestore
next). An adapter supplies only:
- `_load(job_id) -> (job, version) | None`: a consistent read and its version token (DynamoDB's
  `version` attribute, a Cosmos ETag, a Firestore update_time);
- `_replace(job, version) -> new version | None`: a write conditional on that version (None: it
  moved on, so the template re-reads and re-checks);
- `_insert(job, now) -> bool`: create-if-absent by id, and by (tenant, idempotency key) when the job
  has one (atomically, or key first), False when either is taken by a live record;
- `_key_owner(tenant, key, now) -> job id | None`: what a live idempotency record names;
- `list` and `stale`: its own queries (indexes differ), using `visible` and the cursor helpers.
The template remembers the (job, version) it last read or wrote per job: the worker's get-then-claim
and claim-then-complete write against it at once, one call instead of a read and a write. The hint
never decides an outcome: a stale one fails the conditional write and the template re-reads.

The SQLite store runs the same `Transition` steps inside one local transaction (read, check, write
under the write lock), where a version round trip would buy nothing.
"""

import asyncio
import base64
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from skyrelay.runtime.jobs.model import Job, JobStatus

MAX_RETRIES = 20  # conditional writes lost in a row before a transition gives up (each one re-reads)
# How long a create waits for a racing creator of the same idempotency key to finish its write (or
# for an abandoned key to become takeable). A wall-clock budget, not a count of retries: on a loaded
# machine the winner's write can take far longer than a few short sleeps.
CREATE_WAIT_S = 10.0
HINTS = 256  # (job, version) hints kept per store instance


def visible(job: Job | None, tenant: str | None, now: float) -> bool:
    """Reads never return an expired job (TTL deletion is lazy) nor, with `tenant`, another tenant's."""
    return job is not None and not job.expired(now) and (tenant is None or job.tenant == tenant)


class Transition:
    """One conditional transition: `to` (None keeps the status) and `updates`, only from a status in
    `expect` (and with `expect_attempts` attempts, when given)."""

    __slots__ = ("expect", "to", "updates", "expect_attempts")

    def __init__(self, expect: Iterable[JobStatus], to: JobStatus | None, updates: dict | None,
                 expect_attempts: int | None):
        self.expect = frozenset(JobStatus(s) for s in expect)
        self.to = JobStatus(to) if to is not None else None
        self.updates = updates or {}
        self.expect_attempts = expect_attempts

    def holds(self, job: Job, now: float) -> bool:
        return self.allows(job.status, job.attempts, job.expires_at, now)

    def allows(self, status: JobStatus, attempts: int, expires_at: float, now: float) -> bool:
        return (now < expires_at and status in self.expect
                and (self.expect_attempts is None or attempts == self.expect_attempts))

    def apply(self, job: Job, now: float) -> Job:
        return self.merge(job.to_doc(), now)

    def merge(self, doc: dict, now: float) -> Job:
        """The job after the transition, from the stored document (changed in place)."""
        doc.update(self.updates)
        if self.to is not None:
            doc["status"] = self.to.value
        doc["updated_at"] = max(now, doc["updated_at"])
        return Job.from_doc(doc)


def encode_cursor(position: Any) -> str:
    """An opaque list cursor from a JSON-able position (a key, a (created_at, id) pair)."""
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    """The position back; a cursor this store did not make is a ValueError (the API answers 400)."""
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise ValueError("invalid cursor") from None


class VersionedStore:
    """The JobStore port over `_load` / `_replace` / `_insert` / `_key_owner` (see the module docstring)."""

    def __init__(self, clock: Callable[[], float] = time.time, create_wait_s: float = CREATE_WAIT_S):
        self.clock = clock
        self.create_wait_s = create_wait_s
        self._hints: OrderedDict[str, tuple[Job, Any]] = OrderedDict()

    # ---- what an adapter supplies ----
    async def _load(self, job_id: str) -> tuple[Job, Any] | None:
        raise NotImplementedError

    async def _replace(self, job: Job, version: Any) -> Any | None:
        raise NotImplementedError

    async def _insert(self, job: Job, now: float) -> bool:
        raise NotImplementedError

    async def _key_owner(self, tenant: str, key: str, now: float) -> str | None:
        raise NotImplementedError

    # ---- the port ----
    async def create(self, job: Job) -> tuple[Job, bool]:
        deadline, delay = time.monotonic() + self.create_wait_s, 0.01
        while True:
            if await self._insert(job, self.clock()):
                return job, True
            if not job.idempotency_key:  # the id exists: create-if-absent by id
                existing = await self.get(job.id)
                if existing is not None:
                    return existing, False
                continue
            owner = await self._key_owner(job.tenant, job.idempotency_key, self.clock())
            if owner is not None:
                found = await self.get(owner, tenant=job.tenant)
                if found is not None:
                    return found, False
            if time.monotonic() >= deadline:
                raise RuntimeError(f"could not create job {job.id}: its id or idempotency key kept conflicting")
            await asyncio.sleep(delay)  # the winner's write is still in flight, or the key just expired
            delay = min(delay * 2, 0.2)

    async def get(self, job_id: str, tenant: str | None = None) -> Job | None:
        loaded = await self._loaded(job_id)
        job = loaded[0] if loaded else None
        return job if visible(job, tenant, self.clock()) else None

    async def transition(self, job_id: str, expect: Iterable[JobStatus], to: JobStatus | None,
                         updates: dict | None = None, expect_attempts: int | None = None) -> Job | None:
        t = Transition(expect, to, updates, expect_attempts)
        hint = self._hints.pop(job_id, None)
        for _ in range(MAX_RETRIES):
            now = self.clock()
            if hint is not None and t.holds(hint[0], now):
                (job, version), hint = hint, None  # tried once: a failed write re-reads
            else:
                hint, loaded = None, await self._loaded(job_id)
                if loaded is None or not t.holds(loaded[0], now):
                    return None
                job, version = loaded
            new = t.apply(job, now)
            written = await self._replace(new, version)
            if written is not None:
                self._remember(new, written)
                return new
        return None

    async def find_idempotent(self, tenant: str, key: str) -> Job | None:
        owner = await self._key_owner(tenant, key, self.clock())
        return await self.get(owner, tenant=tenant) if owner is not None else None

    # ---- hints ----
    async def _loaded(self, job_id: str) -> tuple[Job, Any] | None:
        loaded = await self._load(job_id)
        if loaded is None:
            self._hints.pop(job_id, None)
            return None
        return self._remember(*loaded)

    def _remember(self, job: Job, version: Any) -> tuple[Job, Any]:
        self._hints[job.id] = (job, version)
        self._hints.move_to_end(job.id)
        if len(self._hints) > HINTS:
            self._hints.popitem(last=False)
        return job, version
