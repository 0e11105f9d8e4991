"""The local JobStore: one SQLite file in WAL mode, shared by any number of processes, on the
runtime's SQLite thread (runtime/sqlite.py: one connection per adapter, group commit)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import orjson

from skyrelay.runtime.jobs.model import Job, JobStatus
from skyrelay.runtime.sqlite import SqliteDb, write_txn
from skyrelay.runtime.stores.template import Transition, decode_cursor, encode_cursor, visible

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
