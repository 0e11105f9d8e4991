"""The shared limiter on Azure: per-tenant limits in the Cosmos DB container AsyncJobs deploys (the job
store's), shared by every Function App instance. The algorithm is runtime/router/limits/versioned.py:
one document per tenant (id=limit_<sha256(tenant)>, type=limit, the state, a `ttl` past its last
lease), created if absent (409: another instance made it first, so re-read) and otherwise replaced
If-Match its ETag (412: an instance wrote first, so re-read and decide again). One atomic decision per
(tenant, request), as on every backend. Time is the instance clock.
"""

import hashlib
import math
import time
from collections.abc import Callable

from skyrelay.runtime.router.limits.versioned import VersionedStateLimiter, expires_in


def limit_id(tenant: str) -> str:
    return "limit_" + hashlib.sha256(tenant.encode()).hexdigest()[:48]


class CosmosLimiter(VersionedStateLimiter):
    def __init__(self, endpoint: str, database: str, container: str, *, client_id: str | None = None,
                 emulator_key: str | None = None, stream_lease_s: float = 3600.0,
                 clock: Callable[[], float] = time.time):
        super().__init__(stream_lease_s, clock)
        self.endpoint, self.database, self.container_name = endpoint, database, container
        self.client_id, self.emulator_key = client_id, emulator_key
        self._client = self._container = None

    @property
    def container(self):
        if self._container is None:
            from skyrelay.runtime.clouds.azure.cosmos import open_container

            self._client, self._container = open_container(
                self.endpoint, self.database, self.container_name, client_id=self.client_id,
                emulator_key=self.emulator_key)
        return self._container

    async def _read(self, tenant: str) -> tuple[dict, str | None]:
        from azure.cosmos.exceptions import CosmosResourceNotFoundError

        doc_id = limit_id(tenant)
        try:
            doc = await self.container.read_item(doc_id, partition_key=doc_id)
        except CosmosResourceNotFoundError:
            return {}, None
        return doc["state"], doc["_etag"]

    async def _write(self, tenant: str, state: dict, version: str | None, now: float) -> str | None:
        from azure.core import MatchConditions
        from azure.cosmos import exceptions

        doc_id = limit_id(tenant)
        doc = {"id": doc_id, "type": "limit", "tenant": tenant, "state": state,
               "ttl": max(1, math.ceil(expires_in(state, now)))}
        try:
            if version is None:
                out = await self.container.create_item(doc)
            else:
                out = await self.container.replace_item(doc_id, doc, etag=version,
                                                        match_condition=MatchConditions.IfNotModified)
        except (exceptions.CosmosResourceExistsError, exceptions.CosmosAccessConditionFailedError,
                exceptions.CosmosResourceNotFoundError):
            return None
        return out["_etag"]

    async def close(self) -> None:
        client, self._client, self._container = self._client, None, None
        if client is not None:
            await client.close()
