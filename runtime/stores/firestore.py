"""The Firestore (Native mode) JobStore, on the collection AsyncJobs deploys (skyrelay.deployment:
FIRESTORE_DATABASE, FIRESTORE_COLLECTION; a TTL policy on FIRESTORE_TTL_FIELD). Over Firestore's
REST API (runtime/clouds/gcp/firestore.py: the SDK's wire format, without its gRPC stack).

Documents (one collection; a key or a limiter counter is a document of its own, told apart by `type`):
- job:  id=<job id>; the queried fields at top level (type=job, id, tenant, status, created_at,
        updated_at; expires_at as a timestamp for the TTL policy), and the whole job as `body`, JSON
        bytes: Firestore refuses arrays of arrays, which a request may hold;
- key:  id=idem_<sha256(tenant, key)>, type=idem, tenant, job_id, expires_at (timestamp), expires_s.
(the Firestore limiter keeps its counters in the same collection as type=limit.)

The store template (runtime/stores/template.py) does create, get, transition and find_idempotent;
this adapter supplies the reads and the writes conditional on a document's `update_time`:
- `_load` is a point read; the document's updateTime is the version;
- `_replace` is an update (the job's fields as the mask) with the `updateTime` precondition
  (FAILED_PRECONDITION: someone wrote first, the template re-reads);
- `_insert` without an idempotency key is a create (`exists: false`; ALREADY_EXISTS: the id is taken). With one,
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
from skyrelay.runtime.clouds.gcp.firestore import CollectionClient, Doc, timestamp
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
        doc = await self.get_doc(job_id)
        if doc is None or doc.fields.get("type") != "job":
            return None
        return job_of(doc.fields), doc.update_time

    async def _replace(self, job: Job, version: Any) -> Any | None:
        return await self.update_doc(job.id, job_fields(job), version)

    async def _insert(self, job: Job, now: float) -> bool:
        if not job.idempotency_key:
            return await self.create_doc(job.id, job_fields(job)) is not None
        key_id = idem_id(job.tenant, job.idempotency_key)
        held = await self.get_doc(key_id)
        key = {"type": "idem", "tenant": job.tenant, "job_id": job.id, FIRESTORE_TTL_FIELD: timestamp(job.expires_at),
               "expires_s": job.expires_at}
        writes = [self.create_write(self.name(job.id), job_fields(job))]
        if held is None:
            writes.append(self.create_write(self.name(key_id), key))
        elif held.fields.get("expires_s", 0) <= now:  # an expired key does not hold its name: take it
            writes.append(self.update_write(self.name(key_id), key, held.update_time))  # over, on the version read
        else:
            return False
        return await self.commit(writes) is not None  # one commit: both land or neither

    async def _key_owner(self, tenant: str, key: str, now: float) -> str | None:
        doc = await self.get_doc(idem_id(tenant, key))
        if doc is None or doc.fields.get("expires_s", 0) <= now:
            return None
        return doc.fields["job_id"]

    # ---- queries ----
    async def _live(self, query: dict, cursor_of: Callable[[Doc], list], want: int, after: list | None = None,
                    keep: Callable[[Job], bool] | None = None) -> list[Job]:
        """Up to `want` live jobs of `query` (ordered), that `keep` accepts, paging past expired
        documents (TTL deletion is lazy) and rejected ones; `cursor_of` gives a document's order values."""
        now, out = self.clock(), []
        while len(out) < want:
            docs = await self.run_query(query, PAGE, after)
            for doc in docs:
                job = job_of(doc.fields)
                if visible(job, None, now) and (keep is None or keep(job)):
                    out.append(job)
            if len(docs) < PAGE:
                break
            after = cursor_of(docs[-1])
        return out[:want]

    async def list(self, tenant: str, limit: int = 50, cursor: str | None = None,
                   status: JobStatus | None = None) -> tuple[list[Job], str | None]:
        q = self.query([("tenant", "EQUAL", tenant)], [("created_at", "DESCENDING"), ("__name__", "DESCENDING")])
        after = None
        if cursor:
            position = decode_cursor(cursor)
            if not (isinstance(position, list) and len(position) == 2 and isinstance(position[1], str)):
                raise ValueError("invalid cursor")
            after = [position[0], self.ref(position[1])]
        wanted = JobStatus(status) if status is not None else None
        jobs = await self._live(q, lambda d: [d.fields["created_at"], self.ref(d.id)], limit + 1, after,
                                None if wanted is None else (lambda j: j.status == wanted))
        if len(jobs) > limit:
            last = jobs[limit - 1]
            return jobs[:limit], encode_cursor([last.created_at, last.id])
        return jobs, None

    def _in_status(self, status: JobStatus, updated_before: float | None = None) -> dict:
        filters: list = [("status", "EQUAL", status.value)]
        if updated_before is not None:
            filters.append(("updated_at", "LESS_THAN", updated_before))
        return self.query(filters, [("updated_at", "ASCENDING"), ("__name__", "ASCENDING")])

    def _status_cursor(self, doc: Doc) -> list:
        return [doc.fields["updated_at"], self.ref(doc.id)]

    async def stale(self, status: JobStatus, updated_before: float, limit: int = 100) -> "list[Job]":
        status = JobStatus(status)
        if status.final or limit <= 0:
            return []  # final jobs are never stale
        return await self._live(self._in_status(status, updated_before), self._status_cursor, limit)

    async def failed(self, limit: int = 100) -> "list[Job]":
        """Up to `limit` live FAILED jobs, oldest update first: where the Cloud Tasks deployment's dead
        letters are (runtime/jobs/replay_firestore.py), served by the same index as `stale`."""
        return await self._live(self._in_status(JobStatus.FAILED), self._status_cursor, limit)


def from_config(cfg) -> FirestoreJobStore:
    """Factory for runtime.stores.ADAPTERS (`jobs.store.backend: firestore`), from the store config's
    `options`: `project`, `collection` (required), `database` (default "(default)"). On Cloud Run,
    bootstrap fills them from the variables AsyncJobs sets."""
    options = dict(getattr(cfg, "options", None) or {})
    for name in ("project", "collection"):
        if not options.get(name):
            raise ValueError(f"jobs.store.options.{name}: required for the firestore backend")
    return FirestoreJobStore(options["project"], options["collection"], options.get("database"))
