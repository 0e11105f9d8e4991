"""The shared limiter on Azure: per-tenant limits in the Cosmos DB container AsyncJobs deploys (the job
store's), shared by every Function App instance. The algorithm is runtime/router/limits/versioned.py:
one document per tenant (id=limit_<sha256(tenant)>, type=limit, the state, a `ttl` past its last
lease), created if absent (409: another instance made it first, so re-read) and otherwise replaced
If-Match its ETag (412: an instance wrote first, so re-read and decide again). One atomic decision per
(tenant, request), as on every backend. Time is the instance clock. Calls go through the stdlib REST
client (runtime/clouds/azure/cosmos.py), as the job store's do.
"""

import hashlib
import math
import time
from collections.abc import Callable

from skyrelay.runtime.clouds.azure.cosmos import ContainerClient
from skyrelay.runtime.router.limits.versioned import VersionedStateLimiter, expires_in


def limit_id(tenant: str) -> str:
    return "limit_" + hashlib.sha256(tenant.encode()).hexdigest()[:48]


class CosmosLimiter(ContainerClient, VersionedStateLimiter):
    def __init__(self, endpoint: str, database: str, container: str, *, client_id: str | None = None,
                 emulator_key: str | None = None, stream_lease_s: float = 3600.0,
                 clock: Callable[[], float] = time.time):
        ContainerClient.__init__(self, endpoint, database, container, client_id=client_id, emulator_key=emulator_key)
        VersionedStateLimiter.__init__(self, stream_lease_s, clock)

    async def _read(self, tenant: str) -> tuple[dict, str | None]:
        doc = await self.container.read(limit_id(tenant))
        if doc is None:
            return {}, None
        return doc["state"], doc["_etag"]

    async def _write(self, tenant: str, state: dict, version: str | None, now: float) -> str | None:
        doc_id = limit_id(tenant)
        doc = {"id": doc_id, "type": "limit", "tenant": tenant, "state": state,
               "ttl": max(1, math.ceil(expires_in(state, now)))}
        if version is None:
            out = await self.container.create(doc)  # None: another instance made it first (409)
        else:
            out = await self.container.replace(doc_id, doc, version)  # None: 412, or expired meanwhile (404)
        return None if out is None else out["_etag"]
