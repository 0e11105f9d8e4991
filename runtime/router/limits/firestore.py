"""The shared limiter on GCP: per-tenant limits in the Firestore collection AsyncJobs deploys (the job
store's), shared by every Cloud Run instance. The algorithm is runtime/router/limits/versioned.py: one
document per tenant (id=limit_<sha256(tenant)>, type=limit, the state, and the TTL field past its
last lease so idle tenants' documents go), created if absent (ALREADY_EXISTS: another instance made it
first, so re-read) and otherwise updated on the `update_time` it was read at (FAILED_PRECONDITION: an
instance wrote first, so re-read and decide again). One atomic decision per (tenant, request), as on
every backend, without a transaction's lock round trips. Time is the instance clock.

A stack that deploys Memorystore names `limiter: {backend: redis}` in the config instead; bootstrap
keeps it.
"""

import hashlib
import time
from collections.abc import Callable

from skyrelay.deployment import FIRESTORE_TTL_FIELD
from skyrelay.runtime.clouds.gcp.firestore import CollectionClient, timestamp
from skyrelay.runtime.router.limits.versioned import VersionedStateLimiter, expires_in


def limit_id(tenant: str) -> str:
    return "limit_" + hashlib.sha256(tenant.encode()).hexdigest()[:48]


class FirestoreLimiter(CollectionClient, VersionedStateLimiter):
    def __init__(self, project: str, collection: str, database: str | None = None, *,
                 stream_lease_s: float = 3600.0, clock: Callable[[], float] = time.time):
        CollectionClient.__init__(self, project, collection, database)
        VersionedStateLimiter.__init__(self, stream_lease_s, clock)

    async def _read(self, tenant: str):
        doc = await self.get_doc(limit_id(tenant))
        if doc is None:
            return {}, None
        return doc.fields["state"], doc.update_time

    async def _write(self, tenant: str, state: dict, version, now: float):
        doc = {"type": "limit", "tenant": tenant, "state": state,
               FIRESTORE_TTL_FIELD: timestamp(now + expires_in(state, now))}
        if version is None:
            return await self.create_doc(limit_id(tenant), doc)  # None: another instance made it first
        return await self.update_doc(limit_id(tenant), doc, version)  # None: an instance wrote first
