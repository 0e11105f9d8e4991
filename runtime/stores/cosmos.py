"""The Cosmos DB (NoSQL) JobStore, on the one container AsyncJobs deploys (skyrelay.deployment.
COSMOS_CONTAINER_SPEC: partition key `/id`, TTL on without a default, composite indexes for the two
queries). Through the REST client of runtime/clouds/azure/cosmos.py (`self.container`: read, create,
replace If-Match, delete, query), which a cold worker loads in a few milliseconds.

Documents (every id is its own partition key; `type` tells them apart):
- job:  id=<job id>, type=job, the job's fields at top level (tenant, status, created_at, updated_at,
        expires_at are indexed; the rest is not), ttl
- key:  id=idem_<sha256(tenant, key)>, type=idem, tenant, job_id, expires_at, confirmed, at, ttl
(the Cosmos limiter keeps its counters in the same container as type=limit.)

The store template (runtime/stores/template.py) does create, get, transition and find_idempotent;
this adapter supplies the reads and ETag-conditional writes:
- `_load` is a point read (id and partition key both the job id); its ETag is the version;
- `_replace` is a replace with If-Match on that ETag (412: someone wrote first, the template re-reads);
- `_insert` without an idempotency key is a create (409: the id exists). With one, the key and the job
  are in two partitions, and Cosmos' transactional batch is per partition, so it is key first, then
  job, then the key confirmed:
    1. create the key document naming the job, unconfirmed (409: read the key: see takeover);
    2. create the job;
    3. replace the key as confirmed, If-Match the ETag of step 1.
  A creator that finds a key expired, or unconfirmed, older than `takeover_s` and naming a job that
  does not exist (its creator died between 1 and 2), replaces it If-Match its ETag and carries on
  from 2. The confirm of step 3 and a takeover are both conditional on that one ETag, so exactly one
  wins: a creator whose confirm fails deletes its job (nobody has seen its id) and returns False, and
  the template returns the winner's job. An unconfirmed key whose job exists (its creator died between
  2 and 3) names that job: it is the replay's answer, and the sweeper enqueues it. No job is lost,
  and one key never answers with two jobs.
- expiry: `ttl` is recomputed on every write as the seconds left until `expires_at` (Cosmos counts it
  from the last write); TTL deletion is lazy (and the emulator does not delete at all), so every
  read filters on `expires_at` itself (`visible`, and `expires_at > @now` in the queries).
- `list`: a tenant's jobs newest first, keyset pages on (created_at, id), cross-partition, served by
  the (created_at DESC, id DESC) composite index; the cursor is that pair.
- `stale`: jobs in one status with `updated_at` before the cutoff, oldest first, served by the
  (status, updated_at) composite index; final jobs are never stale ([]).
"""

import hashlib
import math
import time
from collections.abc import Callable
from typing import Any

from skyrelay.runtime.clouds.azure.cosmos import ContainerClient
from skyrelay.runtime.jobs.model import Job, JobStatus
from skyrelay.runtime.stores.template import VersionedStore, decode_cursor, encode_cursor

SYSTEM_FIELDS = ("_rid", "_self", "_etag", "_attachments", "_ts", "type", "ttl")
TAKEOVER_S = 10.0  # an unconfirmed key this old, naming no job, belongs to a creator that died


def idem_id(tenant: str, key: str) -> str:
    """Cosmos ids may not hold '/', '\\', '?' or '#' and stop at 255 characters: keys are hashed."""
    return "idem_" + hashlib.sha256(f"{tenant}\x00{key}".encode()).hexdigest()[:48]


def ttl_s(expires_at: float, now: float) -> int:
    return max(1, math.ceil(expires_at - now))


class CosmosJobStore(ContainerClient, VersionedStore):
    """The store template on Cosmos DB ETag-conditional writes (see the module docstring)."""

    def __init__(self, endpoint: str, database: str, container: str, *, client_id: str | None = None,
                 emulator_key: str | None = None, clock: Callable[[], float] = time.time,
                 takeover_s: float = TAKEOVER_S):
        ContainerClient.__init__(self, endpoint, database, container, client_id=client_id, emulator_key=emulator_key)
        VersionedStore.__init__(self, clock)
        self.takeover_s = takeover_s

    def _doc(self, job: Job, now: float) -> dict:
        return {**job.to_doc(), "type": "job", "ttl": ttl_s(job.expires_at, now)}

    @staticmethod
    def _job(doc: dict) -> Job:
        return Job.from_doc({k: v for k, v in doc.items() if k not in SYSTEM_FIELDS})

    # ---- the template's operations ----
    async def _load(self, job_id: str) -> tuple[Job, str] | None:
        doc = await self._read(job_id)
        if doc is None or doc.get("type") != "job":
            return None
        return self._job(doc), doc["_etag"]

    async def _replace(self, job: Job, version: str) -> str | None:
        return await self._conditional_replace(job.id, self._doc(job, self.clock()), version)

    async def _insert(self, job: Job, now: float) -> bool:
        if not job.idempotency_key:
            return await self.container.create(self._doc(job, now)) is not None
        key_etag = await self._claim_key(job, now)
        if key_etag is None:
            return False
        if await self.container.create(self._doc(job, now)) is None:  # the id is taken: a retry of this very create
            return False
        key = self._key_doc(job, now, confirmed=True)
        if await self._conditional_replace(key["id"], key, key_etag) is None:  # taken over meanwhile
            await self.container.delete(job.id)
            return False
        return True

    async def _key_owner(self, tenant: str, key: str, now: float) -> str | None:
        doc = await self._read(idem_id(tenant, key))
        if doc is None or doc["expires_at"] <= now:
            return None
        return doc["job_id"]

    # ---- the idempotency key ----
    def _key_doc(self, job: Job, now: float, confirmed: bool) -> dict:
        return {"id": idem_id(job.tenant, job.idempotency_key), "type": "idem", "tenant": job.tenant,
                "job_id": job.id, "expires_at": job.expires_at, "confirmed": confirmed, "at": now,
                "ttl": ttl_s(job.expires_at, now)}

    async def _claim_key(self, job: Job, now: float) -> str | None:
        """Step 1 (or a takeover): the key document names `job`, unconfirmed; its ETag, or None when a
        live key names another job."""
        doc = self._key_doc(job, now, confirmed=False)
        created = await self.container.create(doc)
        if created is not None:
            return created["_etag"]
        held = await self._read(doc["id"])
        if held is None:  # expired and deleted between the two calls: the template tries again
            return None
        live = held["expires_at"] > now
        abandoned = (not held.get("confirmed") and now - held.get("at", now) > self.takeover_s
                     and await self._read(held["job_id"]) is None)
        if live and not abandoned:
            return None
        return await self._conditional_replace(doc["id"], doc, held["_etag"])

    # ---- calls ----
    async def _read(self, doc_id: str) -> dict | None:
        return await self.container.read(doc_id)

    async def _conditional_replace(self, doc_id: str, doc: dict, etag: str) -> str | None:
        out = await self.container.replace(doc_id, doc, etag)
        return None if out is None else out["_etag"]

    # ---- queries ----
    async def list(self, tenant: str, limit: int = 50, cursor: str | None = None,
                   status: JobStatus | None = None) -> tuple[list[Job], str | None]:
        params: dict[str, Any] = {"@n": limit + 1, "@t": tenant, "@now": self.clock()}
        where = "c.type = 'job' AND c.tenant = @t AND c.expires_at > @now"
        if status is not None:
            where += " AND c.status = @s"
            params["@s"] = JobStatus(status).value
        if cursor:
            position = decode_cursor(cursor)
            if not (isinstance(position, list) and len(position) == 2):
                raise ValueError("invalid cursor")
            where += " AND (c.created_at < @ca OR (c.created_at = @ca AND c.id < @id))"
            params["@ca"], params["@id"] = position
        docs = await self.container.query(
            f"SELECT TOP @n * FROM c WHERE {where} ORDER BY c.created_at DESC, c.id DESC", params,
            order=lambda d: (-d["created_at"], _Desc(d["id"])), limit=limit + 1)
        jobs = [self._job(d) for d in docs]
        if len(jobs) > limit:
            last = jobs[limit - 1]
            return jobs[:limit], encode_cursor([last.created_at, last.id])
        return jobs, None

    async def stale(self, status: JobStatus, updated_before: float, limit: int = 100) -> "list[Job]":
        status = JobStatus(status)
        if status.final or limit <= 0:
            return []  # final jobs are never stale
        docs = await self.container.query(
            "SELECT TOP @n * FROM c WHERE c.type = 'job' AND c.status = @s AND c.updated_at < @b AND c.expires_at > @now"
            " ORDER BY c.status ASC, c.updated_at ASC",
            {"@n": limit, "@s": status.value, "@b": updated_before, "@now": self.clock()},
            order=lambda d: d["updated_at"], limit=limit)
        return [self._job(d) for d in docs]


class _Desc(str):
    """A string that sorts in reverse: the id half of the (created_at DESC, id DESC) merge key."""

    __slots__ = ()

    def __lt__(self, other: str) -> bool:
        return str.__gt__(self, other)


def from_config(cfg) -> CosmosJobStore:
    """Factory for runtime.stores.ADAPTERS (`jobs.store.backend: cosmos`), from the store config's
    `options`: `endpoint`, `database`, `container` (required), `client_id` (the managed identity),
    `emulator_key` (tests). On Azure Functions, bootstrap fills them from the variables AsyncJobs sets."""
    options = dict(getattr(cfg, "options", None) or {})
    for name in ("endpoint", "database", "container"):
        if not options.get(name):
            raise ValueError(f"jobs.store.options.{name}: required for the cosmos backend")
    return CosmosJobStore(options["endpoint"], options["database"], options["container"],
                          client_id=options.get("client_id"), emulator_key=options.get("emulator_key"))

