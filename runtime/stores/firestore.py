"""The Firestore (Native mode) JobStore, on the collection AsyncJobs deploys (skyrelay.deployment:
FIRESTORE_DATABASE, FIRESTORE_COLLECTION; a TTL policy on FIRESTORE_TTL_FIELD). Through
`google-cloud-firestore`'s async client (runtime/clouds/gcp/firestore.py).

Documents (one collection; a key or a limiter counter is a document of its own, told apart by `type`):
- job:  id=<job id>; the indexed fields at top level (type=job, id, tenant, status, created_at,
        updated_at, expires_at as a timestamp for the TTL policy), and the whole job as `body`, JSON
        bytes: Firestore refuses arrays of arrays, a request may hold them, and bytes are never worth
        indexing (the component exempts `body` from indexing);
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
- `list`: a tenant's jobs newest first, keyset pages on (created_at, id), served by the composite
  index (type, tenant, created_at DESC, id DESC) (with status: (type, tenant, status, ...));
- `stale`: jobs in one status with `updated_at` before the cutoff, oldest first, served by the
  composite index (type, status, updated_at).
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
    async def _live(self, query, want: int, order: tuple[str, str]) -> list[Job]:
        """Up to `want` live jobs of `query` (ordered on the two `order` fields), paging past expired
        documents (TTL deletion is lazy)."""
        now, out, after = self.clock(), [], None
        while len(out) < want:
            page = query.limit(PAGE) if after is None else query.start_after(after).limit(PAGE)
            docs = [d.to_dict() async for d in page.stream()]
            out.extend(job for job in map(job_of, docs) if visible(job, None, now))
            if len(docs) < PAGE:
                break
            after = {name: docs[-1][name] for name in order}
        return out[:want]

    async def list(self, tenant: str, limit: int = 50, cursor: str | None = None,
                   status: JobStatus | None = None) -> tuple[list[Job], str | None]:
        from google.cloud.firestore import FieldFilter, Query

        q = self.collection.where(filter=FieldFilter("type", "==", "job")).where(
            filter=FieldFilter("tenant", "==", tenant))
        if status is not None:
            q = q.where(filter=FieldFilter("status", "==", JobStatus(status).value))
        q = q.order_by("created_at", direction=Query.DESCENDING).order_by("id", direction=Query.DESCENDING)
        if cursor:
            position = decode_cursor(cursor)
            if not (isinstance(position, list) and len(position) == 2):
                raise ValueError("invalid cursor")
            q = q.start_after({"created_at": position[0], "id": position[1]})
        jobs = await self._live(q, limit + 1, ("created_at", "id"))
        if len(jobs) > limit:
            last = jobs[limit - 1]
            return jobs[:limit], encode_cursor([last.created_at, last.id])
        return jobs, None

    async def stale(self, status: JobStatus, updated_before: float, limit: int = 100) -> "list[Job]":
        from google.cloud.firestore import FieldFilter

        status = JobStatus(status)
        if status.final or limit <= 0:
            return []  # final jobs are never stale
        q = (self.collection.where(filter=FieldFilter("type", "==", "job"))
             .where(filter=FieldFilter("status", "==", status.value))
             .where(filter=FieldFilter("updated_at", "<", updated_before))
             .order_by("updated_at").order_by("id"))
        return await self._live(q, limit, ("updated_at", "id"))


    async def failed(self, limit: int = 100) -> "list[Job]":
        """Up to `limit` live FAILED jobs, oldest update first: where the Cloud Tasks deployment's dead
        letters are (runtime/jobs/replay_firestore.py), served by the (type, status, updated_at) index."""
        from google.cloud.firestore import FieldFilter

        q = (self.collection.where(filter=FieldFilter("type", "==", "job"))
             .where(filter=FieldFilter("status", "==", JobStatus.FAILED.value)).order_by("updated_at").order_by("id"))
        return await self._live(q, limit, ("updated_at", "id"))


def from_config(cfg) -> FirestoreJobStore:
    """Factory for runtime.stores.ADAPTERS (`jobs.store.backend: firestore`), from the store config's
    `options`: `project`, `collection` (required), `database` (default "(default)"). On Cloud Run,
    bootstrap fills them from the variables AsyncJobs sets."""
    options = dict(getattr(cfg, "options", None) or {})
    for name in ("project", "collection"):
        if not options.get(name):
            raise ValueError(f"jobs.store.options.{name}: required for the firestore backend")
    return FirestoreJobStore(options["project"], options["collection"], options.get("database"))
