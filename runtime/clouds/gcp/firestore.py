"""The Firestore collection the job store and the limiter share, over Firestore's REST API (v1) on
`http.client`: `documents.get`, `documents.commit` (with `exists: false` / `updateTime`
preconditions) and `documents.runQuery`.

Why not google-cloud-firestore: importing it with its gRPC and protobuf stack cost ~220 ms of the
Cloud Run worker's ~700 ms cold start, for a point read and two conditional writes per job. The wire
values are the library's (runtime/clouds/gcp/firestore_values.py), so documents written here read
back identically through the SDK and the other way round (tests/gcp_runtime/
test_firestore_rest_pinned.py); the version of a document is its `updateTime`, passed back verbatim
as the precondition.

Calls are blocking HTTP in a worker thread (`asyncio.to_thread`): a thread-safe keep-alive pool per
collection client, so concurrent pushes on one instance do not share a socket. Transient failures
(a reset pooled connection, 503/UNAVAILABLE, 429) are retried a few times with jittered backoff; a
failed precondition is not an error but `None` (the caller re-reads), and any other error raises
`FirestoreError` with Firestore's status name. (A commit retried after a connection lost mid-answer
may meet its own first write, ALREADY_EXISTS or FAILED_PRECONDITION, and read as a conflict: the
store template re-reads then, as it does after the SDK's own retries.)

Credentials: with FIRESTORE_EMULATOR_HOST set (tests, local runs) plain HTTP to the emulator with
`Authorization: Bearer owner`, as the SDK does. On Cloud Run (K_SERVICE set, or GCE_METADATA_HOST) the
service account's access token from the metadata server, reused until five minutes before it expires.
Elsewhere (a laptop with Application Default Credentials) google-auth's token cache, imported then.
One token source per process (the store and the limiter share its cached token). The caller owns the
client and closes it.
"""

import asyncio
import datetime as dt
import http.client
import json
import os
import random
import threading
import time
from urllib.parse import quote

from skyrelay.runtime.clouds.gcp.firestore_values import (  # noqa: F401 (timestamp, parse_time re-exported)
    Ref,
    decode_fields,
    encode,
    encode_fields,
    field_path,
    parse_time,
    timestamp,
)
from skyrelay.runtime.clouds.http_pool import ConnectionPool

FIRESTORE_HOST = "firestore.googleapis.com"
TOKEN_MARGIN_S = 300.0
TIMEOUT_S = 30.0
CLOSE_WAIT_S = 5.0  # close waits this long for calls in flight (Cloud Run allows 10 s after SIGTERM)
ATTEMPTS = 4
CONFLICTS = frozenset({"ALREADY_EXISTS", "FAILED_PRECONDITION", "NOT_FOUND", "ABORTED"})
RETRYABLE = frozenset({"UNAVAILABLE", "RESOURCE_EXHAUSTED", "INTERNAL", "DEADLINE_EXCEEDED"})


class FirestoreError(Exception):
    """A Firestore error answer: `status` is the canonical name (PERMISSION_DENIED, INVALID_ARGUMENT...)."""

    def __init__(self, http_status: int, status: str, message: str):
        super().__init__(f"Firestore {status} ({http_status}): {message}")
        self.http_status, self.status, self.message = http_status, status, message


class Doc:
    """A read document: its id, fields (decoded) and update time (the version, verbatim)."""

    __slots__ = ("id", "name", "fields", "update_time")

    def __init__(self, raw: dict):
        self.name = raw["name"]
        self.id = self.name.rsplit("/", 1)[-1]
        self.fields = decode_fields(raw.get("fields") or {})
        self.update_time = raw.get("updateTime")


async def _yield(turns: int = 3) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


# ---- credentials ----
class _MetadataToken:
    """The service account's token from the metadata server (Cloud Run), cached, thread-safe."""

    def __init__(self, host: str):
        from skyrelay.runtime.clouds.gcp.google_auth import MetadataCredentials

        self.credentials = MetadataCredentials(host)
        self._lock = threading.Lock()

    def __call__(self) -> str:
        from skyrelay.runtime.clouds.gcp.google_auth import MetadataError, _utcnow

        with self._lock:
            c = self.credentials
            if c.token is None or _utcnow() >= c.expiry - dt.timedelta(seconds=TOKEN_MARGIN_S):
                try:
                    c.refresh()
                except MetadataError as exc:
                    raise FirestoreError(exc.status, "UNAUTHENTICATED", str(exc)) from None
            return c.token


class _AdcToken:
    """Application Default Credentials through google-auth, off Cloud Run."""

    def __init__(self):
        from skyrelay.runtime.clouds.gcp.google_auth import GoogleTokenCache

        self.cache = GoogleTokenCache()

    def __call__(self) -> str:
        if not self.cache._fresh():
            self.cache._refresh()
        return self.cache._credentials.token


_sources: dict = {}
_sources_lock = threading.Lock()


def token_source(env=os.environ):
    """() -> the bearer token: "owner" on the emulator, the metadata server's on Cloud Run, else ADC.
    One per process and kind, so the store and the limiter share one cached token."""
    if env.get("FIRESTORE_EMULATOR_HOST"):
        return _owner
    from skyrelay.runtime.clouds.gcp.google_auth import metadata_host

    if host := metadata_host(env):
        key = ("metadata", host)
        factory = lambda: _MetadataToken(host)  # noqa: E731
    else:
        key, factory = ("adc",), _AdcToken
    with _sources_lock:
        if key not in _sources:
            _sources[key] = factory()
        return _sources[key]


def _owner() -> str:
    return "owner"


# ---- the client ----
class CollectionClient:
    """One collection over the REST API, opened on first use and closed with its client: what the store
    and the limiter hold. Every call is a coroutine (blocking HTTP in a worker thread)."""

    def __init__(self, project: str, collection: str, database: str | None = None, env=None):
        env = os.environ if env is None else env
        self.project, self.collection_name = project, collection
        self.database = database or "(default)"
        self.root = f"projects/{project}/databases/{self.database}/documents"
        self.emulator = env.get("FIRESTORE_EMULATOR_HOST")
        self.host = self.emulator or FIRESTORE_HOST
        self._env = env
        self._token = None
        self._pool = ConnectionPool(self.host, not self.emulator, TIMEOUT_S)
        self._inflight: set[asyncio.Future] = set()

    def name(self, doc_id: str) -> str:
        return f"{self.root}/{self.collection_name}/{doc_id}"

    def ref(self, doc_id: str) -> Ref:
        return Ref(self.name(doc_id))

    # ---- wire ----
    def _headers(self) -> dict:
        if self._token is None:
            self._token = token_source(self._env)
        return {"Authorization": f"Bearer {self._token()}", "Content-Type": "application/json",
                "Accept": "application/json"}

    def _send(self, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
        status, _, data = self._pool.send(method, "/v1/" + quote(path, safe="/():_-.~"), body, self._headers())
        return status, data

    def request(self, method: str, path: str, doc: dict | None = None, retry: bool = True):
        """The parsed JSON answer, or FirestoreError (retried when transient)."""
        body = json.dumps(doc, separators=(",", ":")).encode() if doc is not None else None
        for attempt in range(1, ATTEMPTS + 1):
            try:
                status, data = self._send(method, path, body)
            except (OSError, http.client.HTTPException):
                if attempt == ATTEMPTS:
                    raise
                time.sleep(random.uniform(0, 0.05 * 2 ** attempt))  # noqa: S311 - jitter, not secrecy
                continue
            if status < 300:
                return json.loads(data) if data else {}
            try:
                err = json.loads(data).get("error") or {}
                if isinstance(err, list):
                    err = err[0].get("error", {}) if err else {}
            except (ValueError, AttributeError):
                err = {}
            code = err.get("status") or {409: "ABORTED", 404: "NOT_FOUND", 503: "UNAVAILABLE"}.get(status, "UNKNOWN")
            if retry and attempt < ATTEMPTS and (code in RETRYABLE or status in (429, 503)):
                time.sleep(random.uniform(0, 0.05 * 2 ** attempt))  # noqa: S311
                continue
            raise FirestoreError(status, code, str(err.get("message", data[:200])))
        raise AssertionError("unreachable")

    async def call(self, method: str, path: str, doc: dict | None = None):
        call = asyncio.ensure_future(asyncio.to_thread(self.request, method, path, doc))
        self._inflight.add(call)
        call.add_done_callback(self._inflight.discard)
        return await call

    # ---- documents ----
    async def get_doc(self, doc_id: str) -> Doc | None:
        """A point read (None: no such document)."""
        try:
            return Doc(await self.call("GET", self.name(doc_id)))
        except FirestoreError as exc:
            if exc.status == "NOT_FOUND":
                return None
            raise

    @staticmethod
    def create_write(name: str, fields: dict) -> dict:
        return {"update": {"name": name, "fields": encode_fields(fields)}, "currentDocument": {"exists": False}}

    @staticmethod
    def update_write(name: str, fields: dict, update_time: str) -> dict:
        """The SDK's `update(fields, option=write_option(last_update_time=...))`: the named top-level
        fields replaced (the mask), the others kept, only if the document is still at `update_time`."""
        return {"update": {"name": name, "fields": encode_fields(fields)},
                "updateMask": {"fieldPaths": [field_path(k) for k in fields]},
                "currentDocument": {"updateTime": update_time}}

    async def commit(self, writes: list[dict]) -> list[str] | None:
        """The writes atomically -> their update times, or None when a precondition failed."""
        try:
            out = await self.call("POST", f"{self.root}:commit", {"writes": writes})
        except FirestoreError as exc:
            if exc.status in CONFLICTS:
                return None
            raise
        return [r.get("updateTime") or out.get("commitTime") for r in out.get("writeResults", [])]

    async def create_doc(self, doc_id: str, fields: dict) -> str | None:
        out = await self.commit([self.create_write(self.name(doc_id), fields)])
        return None if out is None else out[0]

    async def update_doc(self, doc_id: str, fields: dict, update_time: str) -> str | None:
        out = await self.commit([self.update_write(self.name(doc_id), fields, update_time)])
        return None if out is None else out[0]

    # ---- queries ----
    def query(self, filters: list[tuple[str, str, object]], order: list[tuple[str, str]]) -> dict:
        """A structured query on the collection: `filters` [(field, op, value)] ANDed (ops as the REST
        API names them: EQUAL, LESS_THAN...), `order` [(field, ASCENDING|DESCENDING)]."""
        parts = [{"fieldFilter": {"field": {"fieldPath": f}, "op": op, "value": encode(v)}} for f, op, v in filters]
        q: dict = {"from": [{"collectionId": self.collection_name}],
                   "orderBy": [{"field": {"fieldPath": f}, "direction": d} for f, d in order]}
        if len(parts) == 1:
            q["where"] = parts[0]
        elif parts:
            q["where"] = {"compositeFilter": {"op": "AND", "filters": parts}}
        return q

    async def run_query(self, query: dict, limit: int, after: list | None = None) -> list[Doc]:
        """Up to `limit` documents of `query`, starting after the cursor `after` (one value per order field)."""
        q = {**query, "limit": limit}
        if after is not None:
            q["startAt"] = {"values": [encode(v) for v in after], "before": False}
        out = await self.call("POST", f"{self.root}:runQuery", {"structuredQuery": q})
        return [Doc(item["document"]) for item in out if "document" in item]

    async def close(self) -> None:
        """Closes the pool once the calls in flight are done: at shutdown a cancelled job's release
        (a shielded read-then-write, runtime/jobs/worker.py) is still running, and must land."""
        deadline = time.monotonic() + CLOSE_WAIT_S
        await _yield()
        while self._inflight and time.monotonic() < deadline:
            await asyncio.wait(set(self._inflight), timeout=max(deadline - time.monotonic(), 0.0))
            await _yield()  # a write that follows the read just finished
        self._pool.close()
