"""The local JobStore: one SQLite file in WAL mode, shared by any number of processes.

WAL with `synchronous=NORMAL` keeps every committed transaction across a process crash (SIGKILL);
only an OS crash or power loss can drop the last commits. Each adapter owns one connection on one
thread, so calls never block the event loop and never share a connection between threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from pathlib import Path

import orjson

from skyrelay.runtime.jobs.model import Job, JobStatus
from skyrelay.runtime.stores.template import Transition, decode_cursor, encode_cursor, visible

BUSY_TIMEOUT_S = 30.0


class SqliteDb:
    """A connection on its own thread. `run(fn, *args)` runs fn(conn, *args) there.

    Group commit: write operations (`@write_txn`) that queue up while the thread is busy run together
    in one `BEGIN IMMEDIATE ... COMMIT`, each inside its own savepoint (one failing operation rolls
    back only itself). A caller is answered only after the COMMIT that holds its write, so every
    answered write is as durable as before; under load the file sees one transaction (one write lock,
    one WAL append) per batch instead of one per call. Reads queued with them run first, outside it.
    """

    def __init__(self, path: str | Path, schema: str, max_batch: int = 64):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.max_batch = max_batch
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="skyrelay-sqlite", daemon=True)
        self._thread.start()
        self.run_sync(self._open, schema)

    def _open(self, _conn, schema: str) -> None:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        begin_immediate(conn)
        try:
            for stmt in filter(None, (s.strip() for s in schema.split(";"))):
                conn.execute(stmt)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self.conn = conn

    async def run(self, fn: Callable, *args):
        if self._closed:
            raise RuntimeError("store is closed")
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._q.put((fn, args, loop, fut))
        return await fut

    def run_sync(self, fn: Callable, *args):
        fut: Future = Future()
        self._q.put((fn, args, None, fut))
        return fut.result()

    def autocheckpoint(self, pages: int) -> None:
        """`PRAGMA wal_autocheckpoint` for this connection: 0 leaves checkpoints (and their fsyncs) to
        the other processes on the file, e.g. an API process whose workers write far more."""
        self.run_sync(lambda conn: conn.execute(f"PRAGMA wal_autocheckpoint={int(pages)}"))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.run_sync(lambda conn: conn.close() if conn is not None else None)
        self._q.put(None)
        self._thread.join()

    # ---- on the db thread ----
    def _serve(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < self.max_batch:
                try:
                    nxt = self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._q.put(None)  # stop after this batch
                    break
                batch.append(nxt)
            self._settle(self._execute(batch))

    def _execute(self, batch: list) -> list:
        conn = getattr(self, "conn", None)
        out, writes = [], []
        for item in batch:  # reads (and plain calls) first, each on its own
            inner = getattr(item[0], "sqlite_write", None)
            if inner is None:
                out.append((item, *_call(item[0], conn, item[1])))
            else:
                writes.append((item, inner))
        if len(writes) == 1:  # alone: the usual BEGIN IMMEDIATE ... COMMIT
            item, _ = writes[0]
            out.append((item, *_call(item[0], conn, item[1])))
        elif writes:
            out += _group_commit(conn, writes)
        return out

    @staticmethod
    def _settle(results: list) -> None:
        by_loop: dict = {}
        for (_fn, _args, loop, fut), value, exc in results:
            if loop is None:
                fut.set_exception(exc) if exc is not None else fut.set_result(value)
            else:
                by_loop.setdefault(loop, []).append((fut, value, exc))
        for loop, items in by_loop.items():  # one wake-up per event loop per batch
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
                loop.call_soon_threadsafe(_settle_async, items)


def _call(fn: Callable, conn, args) -> tuple:
    try:
        return fn(conn, *args), None
    except BaseException as exc:  # noqa: BLE001 - handed to the caller
        return None, exc


def _settle_async(items: list) -> None:
    for fut, value, exc in items:
        if fut.cancelled():
            continue
        fut.set_exception(exc) if exc is not None else fut.set_result(value)


def _group_commit(conn: sqlite3.Connection, writes: list) -> list:
    """Several write operations in one transaction, one savepoint each."""
    try:
        begin_immediate(conn)
    except BaseException as exc:  # noqa: BLE001
        return [(item, None, exc) for item, _ in writes]
    done = []
    for item, inner in writes:
        conn.execute("SAVEPOINT op")
        try:
            value = inner(conn, *item[1])
        except BaseException as exc:  # noqa: BLE001
            conn.execute("ROLLBACK TO op")
            conn.execute("RELEASE op")
            done.append((item, None, exc))
            continue
        conn.execute("RELEASE op")
        done.append((item, value, None))
    try:
        conn.execute("COMMIT")
    except BaseException as exc:  # noqa: BLE001 - nothing in the batch was written
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        return [(item, None, exc) for item, _ in writes]
    return done


def begin_immediate(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting for the write lock in short steps (0.1 ms doubling to 2 ms) rather than
    SQLite's busy handler (1, 2, 5, 10, 15, 20, 25... ms sleeps): another process holds the lock for
    well under a millisecond, so the first sleeps decide the tail latency. Gives up after the busy
    timeout, as SQLite would."""
    conn.execute("PRAGMA busy_timeout=0")
    try:
        delay, deadline = 0.0001, None
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", sqlite3.SQLITE_BUSY) & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
                now = time.monotonic()
                deadline = deadline or now + BUSY_TIMEOUT_S
                if now >= deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.002)
    finally:
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")


def write_txn(fn: Callable) -> Callable:
    """Runs fn(conn, ...) inside BEGIN IMMEDIATE ... COMMIT (rolled back on any error). Through
    `SqliteDb.run`, concurrent write operations share one transaction (group commit)."""

    def wrapper(conn: sqlite3.Connection, *args):
        begin_immediate(conn)
        try:
            out = fn(conn, *args)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return out

    wrapper.sqlite_write = fn
    return wrapper


SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  created_at REAL NOT NULL,
  updated_at REAL,
  expires_at REAL NOT NULL,
  idem TEXT,
  doc BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idem ON jobs(tenant, idem) WHERE idem IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_by_tenant ON jobs(tenant, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_by_expiry ON jobs(expires_at)
"""


def _cursor_in(cursor: str) -> tuple[float, str]:
    try:
        created_at, job_id = decode_cursor(cursor)
        return float(created_at), str(job_id)
    except (TypeError, ValueError):
        raise ValueError("invalid cursor") from None


@write_txn
def _migrate(conn: sqlite3.Connection) -> None:
    """Files written before `updated_at` was a column (the sweeper's index) get it."""
    cols = {r[1] for r in conn.execute("PRAGMA table_info(jobs)")}
    if "updated_at" not in cols:
        conn.execute("ALTER TABLE jobs ADD COLUMN updated_at REAL")
    conn.execute("UPDATE jobs SET updated_at=created_at WHERE updated_at IS NULL")
    conn.execute("CREATE INDEX IF NOT EXISTS jobs_stale ON jobs(status, updated_at)")


class SqliteJobStore:
    """The JobStore port on one SQLite file. Each operation is one local transaction on the db thread;
    `transition` runs the store template's steps (runtime/stores/template.py: Transition) inside it."""

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time):
        self.db = SqliteDb(path, SCHEMA)
        self.db.run_sync(_migrate)
        self.clock = clock

    # ---- port ----
    async def create(self, job: Job) -> tuple[Job, bool]:
        return await self.db.run(self._create, job, self.clock())

    async def get(self, job_id: str, tenant: str | None = None) -> Job | None:
        return await self.db.run(self._get, job_id, tenant, self.clock())

    async def transition(self, job_id: str, expect: Iterable[JobStatus], to: JobStatus | None,
                         updates: dict | None = None, expect_attempts: int | None = None) -> Job | None:
        return await self.db.run(self._transition, job_id, Transition(expect, to, updates, expect_attempts),
                                 self.clock())

    async def list(self, tenant: str, limit: int = 50, cursor: str | None = None,
                   status: JobStatus | None = None) -> tuple[list[Job], str | None]:
        after = _cursor_in(cursor) if cursor else None
        return await self.db.run(self._list, tenant, limit, after, status, self.clock())

    async def find_idempotent(self, tenant: str, key: str) -> Job | None:
        return await self.db.run(self._find_idempotent, tenant, key, self.clock())

    async def stale(self, status: JobStatus, updated_before: float, limit: int = 100) -> list[Job]:
        return await self.db.run(self._stale, status.value, updated_before, limit, self.clock())

    async def close(self) -> None:
        self.db.close()

    # ---- extras (local only) ----
    async def purge_expired(self) -> int:
        return await self.db.run(self._purge, self.clock())

    def all_jobs_sync(self) -> list[Job]:
        """Every stored job (tests and the demo)."""
        return self.db.run_sync(lambda c: [Job.loads(r[0]) for r in c.execute("SELECT doc FROM jobs")])

    # ---- on the db thread ----
    @staticmethod
    @write_txn
    def _create(conn: sqlite3.Connection, job: Job, now: float) -> tuple[Job, bool]:
        if job.idempotency_key is not None:
            row = conn.execute("SELECT doc, expires_at FROM jobs WHERE tenant=? AND idem=?",
                               (job.tenant, job.idempotency_key)).fetchone()
            if row is not None:
                if row[1] > now:
                    return Job.loads(row[0]), False
                conn.execute("DELETE FROM jobs WHERE tenant=? AND idem=?", (job.tenant, job.idempotency_key))
        cur = conn.execute(
            "INSERT INTO jobs(id, tenant, status, attempts, created_at, updated_at, expires_at, idem, doc)"
            " VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO NOTHING",
            (job.id, job.tenant, job.status.value, job.attempts, job.created_at, job.updated_at, job.expires_at,
             job.idempotency_key, job.dumps()))
        if cur.rowcount == 0:  # same id twice: create-if-absent by id as well
            row = conn.execute("SELECT doc FROM jobs WHERE id=?", (job.id,)).fetchone()
            return Job.loads(row[0]), False
        return job, True

    @staticmethod
    def _get(conn: sqlite3.Connection, job_id: str, tenant: str | None, now: float) -> Job | None:
        row = conn.execute("SELECT doc FROM jobs WHERE id=?", (job_id,)).fetchone()
        job = Job.loads(row[0]) if row is not None else None
        return job if visible(job, tenant, now) else None

    @staticmethod
    @write_txn
    def _transition(conn, job_id: str, t: Transition, now: float) -> Job | None:
        row = conn.execute("SELECT doc, status, attempts, expires_at FROM jobs WHERE id=?", (job_id,)).fetchone()
        if row is None or not t.allows(JobStatus(row[1]), row[2], row[3], now):
            return None
        job = t.merge(orjson.loads(row[0]), now)
        conn.execute("UPDATE jobs SET status=?, attempts=?, updated_at=?, doc=? WHERE id=?",
                     (job.status.value, job.attempts, job.updated_at, job.dumps(), job_id))
        return job

    @staticmethod
    def _find_idempotent(conn, tenant, key, now) -> Job | None:
        row = conn.execute("SELECT doc FROM jobs WHERE tenant=? AND idem=? AND expires_at>?",
                           (tenant, key, now)).fetchone()
        return Job.loads(row[0]) if row is not None else None

    @staticmethod
    def _stale(conn, status, before, limit, now) -> list[Job]:
        rows = conn.execute("SELECT doc FROM jobs WHERE status=? AND updated_at<? AND expires_at>?"
                            " ORDER BY updated_at LIMIT ?", (status, before, now, limit)).fetchall()
        return [Job.loads(r[0]) for r in rows]

    @staticmethod
    def _list(conn, tenant, limit, after, status, now) -> tuple[list[Job], str | None]:
        sql = "SELECT doc, created_at, id FROM jobs WHERE tenant=? AND expires_at>?"
        args: list = [tenant, now]
        if status is not None:
            sql += " AND status=?"
            args.append(status.value)
        if after is not None:
            sql += " AND (created_at < ? OR (created_at = ? AND id < ?))"
            args += [after[0], after[0], after[1]]
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        args.append(limit + 1)
        rows = conn.execute(sql, args).fetchall()
        jobs = [Job.loads(r[0]) for r in rows[:limit]]
        nxt = encode_cursor([rows[limit - 1][1], rows[limit - 1][2]]) if len(rows) > limit else None
        return jobs, nxt

    @staticmethod
    @write_txn
    def _purge(conn, now) -> int:
        return conn.execute("DELETE FROM jobs WHERE expires_at<=?", (now,)).rowcount


def from_config(cfg) -> SqliteJobStore:
    return SqliteJobStore(cfg.path)
