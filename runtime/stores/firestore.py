"""The Firestore (Native mode) JobStore, on the collection AsyncJobs deploys (skyrelay.deployment:
FIRESTORE_DATABASE, FIRESTORE_COLLECTION; a TTL policy on FIRESTORE_TTL_FIELD). Through
`google-cloud-firestore`'s async client (runtime/clouds/gcp/firestore.py).

Documents (one collection; a key or a limiter counter is a document of its own, told apart by `type`):
- job:  id=<job id>; the queried fields at top level (type=job, id, tenant, status, created_at,
        updated_at; expires_at as a timestamp for the TTL policy), and the whole job as `body`, JSON
        bytes: Firestore refuses arrays of arrays, which a request may hold;
- key:  id=idem_<sha256(tenant, key)>, type=idem, tenant, job_id, expires_at (timestamp), expires_s.
(the Firestore limiter keeps its counters in the same collection as type=limit.)

The store template (runtime/stores/template.py) does create, get, transition and find_idempotent;
this adapter supplies the reads and the writes conditional on a document's `update_time`:
- `_load` is a point read; the snapshot's update_time is the version;
- `_replace` is an update with the `last_update_time` precondition (FAILED_PRECONDITION: someone
  wrote first, the template re-reads);
- `_insert` without an idempotency key is a create (ALREADY_EXISTS: the id is taken). With one,
  Firestore commits a batch of writes atomically across documents, so the job and its key are one
  commit: create both, or, when an expired key holds the name, create the job and update the key on
  that key's update_time. Either both land or neither does: no half-created key, no takeover rule.
- expiry: TTL deletion is lazy (within a day or so; the emulator never deletes), so every read
  filters on the expiry itself (`visible`, and the queries drop expired documents as they page);
- `list`: a tenant's jobs newest first, keyset pages on (created_at, document id), served by the
  composite index AsyncJobs deploys (tenant, created_at DESC, __name__ DESC); a status filter is
  applied while paging, so no third index is needed. Keys and limiter documents carry no
  `created_at` and never match;
- `stale` (the sweeper) and `failed` (the replay): jobs in one status, oldest update first, served by
  the composite index (status, updated_at, __name__). Documents without `status` never match.
The queries never filter on `expires_at`: the component exempts it from indexing (a monotonically
growing indexed timestamp is a write hotspot).
"""

import hashlib
import time
from collections.abc import Callable
from typing import Any

from skyrelay.deployment import FIRESTORE_TTL_FIELD
from skyrelay.runtime.clouds.gcp.firestore import CollectionClient, conflict_errors, timestamp
from skyrelay.runtime.jobs.model import Job, JobStatus
from skyrelay.runtime.stores.template import VersionedStore, decode_cursor, encode_cursor, visible

PAGE = 100  # documents a query reads per round trip while it skips expired ones


def idem_id(tenant: str, key: str) -> str:
    """Document ids may not contain '/' and stop at 1,500 bytes: keys are hashed."""
    return "idem_" + hashlib.sha256(f"{tenant}\x00{key}".encode()).hexdigest()[:48]


def job_fields(job: Job) -> dict:
    return {"type": "job", "id": job.id, "tenant": job.tenant, "status": job.status.value,
            "created_at": job.created_at, "updated_at": job.updated_at,
            FIRESTORE_TTL_FIELD: timestamp(job.expires_at), "body": job.dumps()}


def job_of(doc: dict) -> Job:
    return Job.loads(doc["body"])


class FirestoreJobStore(CollectionClient, VersionedStore):
    """The store template on Firestore update_time preconditions (see the module docstring)."""

    def __init__(self, project: str, collection: str, database: str | None = None, *,
                 clock: Callable[[], float] = time.time):
        CollectionClient.__init__(self, project, collection, database)
        VersionedStore.__init__(self, clock)

    # ---- the template's operations ----
    async def _load(self, job_id: str) -> tuple[Job, Any] | None:
        snap = await self.collection.document(job_id).get()
        doc = snap.to_dict() if snap.exists else None
        if doc is None or doc.get("type") != "job":
            return None
        return job_of(doc), snap.update_time

    async def _replace(self, job: Job, version: Any) -> Any | None:
        try:
            out = await self.collection.document(job.id).update(job_fields(job), option=self.precondition(version))
        except conflict_errors():
            return None
        return out.update_time

    async def _insert(self, job: Job, now: float) -> bool:
        conflicts = conflict_errors()
        job_ref = self.collection.document(job.id)
        if not job.idempotency_key:
            try:
                await job_ref.create(job_fields(job))
                return True
            except conflicts:
                return False
        key_ref = self.collection.document(idem_id(job.tenant, job.idempotency_key))
        held = await key_ref.get()
        key = {"type": "idem", "tenant": job.tenant, "job_id": job.id, FIRESTORE_TTL_FIELD: timestamp(job.expires_at),
               "expires_s": job.expires_at}
        batch = self.client.batch()
        batch.create(job_ref, job_fields(job))
        if not held.exists:
            batch.create(key_ref, key)
        elif held.to_dict().get("expires_s", 0) <= now:  # an expired key does not hold its name: take it
            batch.update(key_ref, key, option=self.precondition(held.update_time))  # over, on the version read
        else:
            return False
        try:
            await batch.commit()
        except conflicts:
            return False
        return True

    async def _key_owner(self, tenant: str, key: str, now: float) -> str | None:
        snap = await self.collection.document(idem_id(tenant, key)).get()
        doc = snap.to_dict() if snap.exists else None
        if doc is None or doc.get("expires_s", 0) <= now:
            return None
        return doc["job_id"]

    # ---- queries ----
    async def _live(self, query, want: int, keep: Callable[[Job], bool] | None = None) -> list[Job]:
        """Up to `want` live jobs of `query` (ordered), that `keep` accepts, paging past expired
        documents (TTL deletion is lazy) and rejected ones."""
        now, out, last = self.clock(), [], None
        while len(out) < want:
            page = query.limit(PAGE) if last is None else query.start_after(last).limit(PAGE)
            snaps = [d async for d in page.stream()]
            for snap in snaps:
                job = job_of(snap.to_dict())
                if visible(job, None, now) and (keep is None or keep(job)):
                    out.append(job)
            if len(snaps) < PAGE:
                break
            last = snaps[-1]
        return out[:want]

    async def list(self, tenant: str, limit: int = 50, cursor: str | None = None,
                   status: JobStatus | None = None) -> tuple[list[Job], str | None]:
        from google.cloud.firestore import FieldFilter, Query

        q = (self.collection.where(filter=FieldFilter("tenant", "==", tenant))
             .order_by("created_at", direction=Query.DESCENDING).order_by("__name__", direction=Query.DESCENDING))
        if cursor:
            position = decode_cursor(cursor)
            if not (isinstance(position, list) and len(position) == 2 and isinstance(position[1], str)):
                raise ValueError("invalid cursor")
            q = q.start_after({"created_at": position[0], "__name__": self.collection.document(position[1])})
        wanted = JobStatus(status) if status is not None else None
        jobs = await self._live(q, limit + 1, None if wanted is None else (lambda j: j.status == wanted))
        if len(jobs) > limit:
            last = jobs[limit - 1]
            return jobs[:limit], encode_cursor([last.created_at, last.id])
        return jobs, None

    def _in_status(self, status: JobStatus, updated_before: float | None = None):
        from google.cloud.firestore import FieldFilter

        q = self.collection.where(filter=FieldFilter("status", "==", status.value))
        if updated_before is not None:
            q = q.where(filter=FieldFilter("updated_at", "<", updated_before))
        return q.order_by("updated_at").order_by("__name__")

    async def stale(self, status: JobStatus, updated_before: float, limit: int = 100) -> "list[Job]":
        status = JobStatus(status)
        if status.final or limit <= 0:
            return []  # final jobs are never stale
        return await self._live(self._in_status(status, updated_before), limit)

    async def failed(self, limit: int = 100) -> "list[Job]":
        """Up to `limit` live FAILED jobs, oldest update first: where the Cloud Tasks deployment's dead
        letters are (runtime/jobs/replay_firestore.py), served by the same index as `stale`."""
        return await self._live(self._in_status(JobStatus.FAILED), limit)


def from_config(cfg) -> FirestoreJobStore:
    """Factory for runtime.stores.ADAPTERS (`jobs.store.backend: firestore`), from the store config's
    `options`: `project`, `collection` (required), `database` (default "(default)"). On Cloud Run,
    bootstrap fills them from the variables AsyncJobs sets."""
    options = dict(getattr(cfg, "options", None) or {})
    for name in ("project", "collection"):
        if not options.get(name):
            raise ValueError(f"jobs.store.options.{name}: required for the firestore backend")
    return FirestoreJobStore(options["project"], options["collection"], options.get("database"))
