"""Cosmos DB (NoSQL) through its REST API on stdlib `http.client`: the container the job store and the
limiter share (point read, create, replace If-Match an ETag, delete, query), and the emulator's set-up.

Why not `azure-cosmos`: its async client imports azure-core's pipeline and aiohttp (~0.5 s of a cold
Function start, the worker's whole budget twice over) to make four kinds of HTTP call. This module
speaks the same wire format the SDK does (tests/azure_runtime/test_cosmos_rest.py pins it: documents
written here read back identically through azure-cosmos and the other way round, and the SDK's own
412 is this module's None):
- auth: the emulator's master key as the SDK signs it (`type=master&ver=1.0&sig=` HMAC-SHA256 of
  "verb\\nresource type\\nresource link\\nx-ms-date\\n\\n", URL-quoted), or an Entra token for the
  account's scope (`type=aad&ver=1.0&sig=<token>`, unquoted) from the managed identity (identity.py);
- `x-ms-version` is the pinned SDK's; a point operation names its partition key
  (`x-ms-documentdb-partitionkey: ["<id>"]`: every document here is its own partition);
- a query is a POST of `{"query", "parameters"}` as `application/query+json`. A cross-partition
  query with ORDER BY and TOP cannot be served by the gateway in one call (the SDK fetches a query
  plan for it), so `query` runs it on each partition key range (`x-ms-documentdb-partitionkeyrangeid`,
  following `x-ms-continuation`), where it is a single-partition query, and merges the ranges'
  ordered results by the caller's `order` key, keeping the first `limit` (a 410 after a split
  re-reads the ranges once);
- 429 / 449 / 503 and dropped connections are retried after `x-ms-retry-after-ms` (else a jittered
  backoff), up to `MAX_ATTEMPTS`, as the SDK's throttle retry does; another status is `CosmosError`.
The blocking HTTP runs in a worker thread (`asyncio.to_thread`) on kept-alive connections. The
emulator (tests) takes its key and a self-signed certificate: `emulator_key` switches both.
"""

import asyncio
import base64
import hashlib
import heapq
import hmac
import http.client
import json
import random
from collections.abc import Callable
from email.utils import formatdate
from typing import Any
from urllib.parse import quote, urlsplit

from skyrelay.runtime.clouds.http_pool import ConnectionPool, default_tls

API_VERSION = "2020-07-15"  # azure.cosmos.http_constants.Versions.CurrentVersion of the pinned SDK
MAX_ATTEMPTS = 9  # the SDK's default throttle retry count
RETRY_STATUSES = frozenset({429, 449, 503})
TIMEOUT_S = 30.0


class CosmosError(Exception):
    """A Cosmos DB answer the caller did not expect (status, substatus and the service's message)."""

    def __init__(self, status: int, substatus: str | None, message: str):
        super().__init__(f"Cosmos DB {status}{'/' + substatus if substatus else ''}: {message}")
        self.status, self.substatus = status, substatus


def master_key_auth(key: str, verb: str, resource_type: str, link: str, date: str) -> str:
    """The Authorization header value for the account key (the emulator's), as azure.cosmos.auth signs it."""
    text = f"{verb.lower()}\n{resource_type.lower()}\n{link}\n{date.lower()}\n\n"
    sig = base64.b64encode(hmac.new(base64.b64decode(key), text.encode(), hashlib.sha256).digest()).decode()
    return quote(f"type=master&ver=1.0&sig={sig}", "-_.!~*'()")


def aad_auth(token: str) -> str:
    """The Authorization header value for an Entra token: unquoted, as the SDK's bearer policy sends it."""
    return f"type=aad&ver=1.0&sig={token}"


def account_scope(endpoint: str) -> str:
    """The Entra scope the SDK asks for (azure.cosmos._base.create_scope_from_url)."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.hostname}/.default"


class CosmosRest:
    """One account's REST endpoint: signed requests on a small pool of kept-alive connections."""

    def __init__(self, endpoint: str, *, emulator_key: str | None = None, client_id: str | None = None,
                 token: Callable[[], Any] | None = None):
        parts = urlsplit(endpoint)
        self.https, self.host = parts.scheme == "https", parts.netloc
        self.emulator_key = emulator_key
        if token is None and not emulator_key:
            from skyrelay.runtime.clouds.azure.identity import token_cache

            token = token_cache(account_scope(endpoint), client_id).token
        self._token = token  # async () -> bearer token
        self._pool = ConnectionPool(self.host, self.https, TIMEOUT_S,
                                    tls=_unverified_tls if emulator_key else default_tls)

    async def request(self, method: str, resource_type: str, link: str, path: str, body: Any = None,
                      headers: dict | None = None) -> tuple[int, dict, Any]:
        """(status, headers, parsed JSON body) for a signed call; retries throttling and dropped connections."""
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            date = formatdate(usegmt=True)
            if self.emulator_key:
                auth = master_key_auth(self.emulator_key, method, resource_type, link, date)
            else:
                auth = aad_auth(await self._token())
            sent = {"x-ms-date": date, "x-ms-version": API_VERSION, "authorization": auth,
                    "accept": "application/json", **(headers or {})}
            if data is not None:
                sent.setdefault("content-type", "application/json")
            try:
                status, reply, raw = await asyncio.to_thread(self._pool.send, method, path, data, sent)
            except (OSError, http.client.HTTPException):
                if attempt == MAX_ATTEMPTS:
                    raise
                await asyncio.sleep(random.uniform(0, min(2.0, 0.05 * 2 ** attempt)))
                continue
            if status in RETRY_STATUSES and attempt < MAX_ATTEMPTS:
                after = reply.get("x-ms-retry-after-ms")
                await asyncio.sleep(float(after) / 1000 if after else random.uniform(0, min(2.0, 0.05 * 2 ** attempt)))
                continue
            return status, reply, (json.loads(raw) if raw else None)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._pool.close()


def _unverified_tls():
    """The emulator's self-signed certificate: the SDK's connection_verify=False."""
    import ssl

    return ssl._create_unverified_context()  # noqa: SLF001


def error(status: int, headers: dict, body: Any) -> CosmosError:
    message = body.get("message", "") if isinstance(body, dict) else ""
    return CosmosError(status, headers.get("x-ms-substatus"), str(message)[:500])


class Container:
    """The operations the store and the limiter make on one container (ids are their own partition keys)."""

    def __init__(self, endpoint: str, database: str, container: str, **auth):
        self.rest = CosmosRest(endpoint, **auth)
        self.link = f"dbs/{database}/colls/{container}"
        self._ranges: list[str] | None = None

    def _doc(self, doc_id: str) -> tuple[str, str]:
        link = f"{self.link}/docs/{doc_id}"
        return link, "/" + quote(link)

    @staticmethod
    def _pk(doc_id: str) -> dict:
        return {"x-ms-documentdb-partitionkey": json.dumps([doc_id])}

    async def read(self, doc_id: str) -> dict | None:
        link, path = self._doc(doc_id)
        status, headers, body = await self.rest.request("GET", "docs", link, path, headers=self._pk(doc_id))
        if status == 404:
            return None
        if status != 200:
            raise error(status, headers, body)
        return body

    async def create(self, doc: dict) -> dict | None:
        """The created document (with its `_etag`), or None when the id exists (409)."""
        status, headers, body = await self.rest.request("POST", "docs", self.link, f"/{self.link}/docs", doc,
                                                        self._pk(doc["id"]))
        if status == 409:
            return None
        if status != 201:
            raise error(status, headers, body)
        return body

    async def replace(self, doc_id: str, doc: dict, etag: str) -> dict | None:
        """The replaced document, or None when the ETag moved on (412) or the document is gone (404)."""
        link, path = self._doc(doc_id)
        status, headers, body = await self.rest.request("PUT", "docs", link, path, doc,
                                                        {**self._pk(doc_id), "if-match": etag})
        if status in (404, 412):
            return None
        if status != 200:
            raise error(status, headers, body)
        return body

    async def delete(self, doc_id: str) -> bool:
        link, path = self._doc(doc_id)
        status, headers, body = await self.rest.request("DELETE", "docs", link, path, headers=self._pk(doc_id))
        if status not in (204, 404):
            raise error(status, headers, body)
        return status == 204

    async def ranges(self) -> list[str]:
        """The container's partition key range ids (read once per client)."""
        if self._ranges is None:
            status, headers, body = await self.rest.request("GET", "pkranges", self.link, f"/{self.link}/pkranges")
            if status != 200:
                raise error(status, headers, body)
            self._ranges = [r["id"] for r in body["PartitionKeyRanges"]]
        return self._ranges

    async def query(self, query: str, params: dict[str, Any], order: Callable[[dict], Any], limit: int) -> list[dict]:
        """The first `limit` documents of `query` (whose ORDER BY `order` mirrors, ascending), over every
        partition key range (see the module docstring)."""
        parameters = [{"name": k, "value": v} for k, v in params.items()]
        try:
            per_range = await asyncio.gather(*(self._query_range(r, query, parameters) for r in await self.ranges()))
        except CosmosError as exc:
            if exc.status != 410:  # 410: a range split or merged since it was read; read them again, once
                raise
            self._ranges = None
            per_range = await asyncio.gather(*(self._query_range(r, query, parameters) for r in await self.ranges()))
        return list(heapq.merge(*per_range, key=order))[:limit]

    async def _query_range(self, range_id: str, query: str, parameters: list) -> list[dict]:
        headers = {"content-type": "application/query+json", "x-ms-documentdb-isquery": "True",
                   "x-ms-documentdb-query-enablecrosspartition": "True",
                   "x-ms-documentdb-partitionkeyrangeid": range_id}
        docs: list[dict] = []
        while True:
            status, reply, body = await self.rest.request("POST", "docs", self.link, f"/{self.link}/docs",
                                                          {"query": query, "parameters": parameters}, headers)
            if status != 200:
                raise error(status, reply, body)
            docs += body["Documents"]
            if not reply.get("x-ms-continuation"):
                return docs
            headers["x-ms-continuation"] = reply["x-ms-continuation"]

    async def close(self) -> None:
        self.rest.close()


async def create_container(endpoint: str, database: str, container: str, spec: dict, emulator_key: str) -> None:
    """The container a component deploys, on an emulator (tests, local runs): `spec` is
    skyrelay.deployment.COSMOS_CONTAINER_SPEC. An existing database or container is kept (409)."""
    rest = CosmosRest(endpoint, emulator_key=emulator_key)
    try:
        status, headers, body = await rest.request("POST", "dbs", "", "/dbs", {"id": database})
        if status not in (201, 409):
            raise error(status, headers, body)
        doc = {"id": container, "partitionKey": spec["partitionKey"], "defaultTtl": spec["defaultTtl"],
               "indexingPolicy": spec["indexingPolicy"]}
        status, headers, body = await rest.request("POST", "colls", f"dbs/{database}", f"/dbs/{database}/colls", doc)
        if status not in (201, 409):
            raise error(status, headers, body)
    finally:
        rest.close()


class ContainerClient:
    """A container opened on first use and closed with it: what the store and the limiter hold."""

    def __init__(self, endpoint: str, database: str, container: str, *, client_id: str | None = None,
                 emulator_key: str | None = None):
        self.endpoint, self.database, self.container_name = endpoint, database, container
        self.client_id, self.emulator_key = client_id, emulator_key
        self._container: Container | None = None

    @property
    def container(self) -> Container:
        if self._container is None:
            self._container = Container(self.endpoint, self.database, self.container_name,
                                        client_id=self.client_id, emulator_key=self.emulator_key)
        return self._container

    async def close(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            await container.close()
