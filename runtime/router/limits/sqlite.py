"""The embedded shared limiter: per-tenant limits in a SQLite file (WAL), shared by every process on
one host (the API, the job worker processes) and kept across restarts.

Each operation is one write transaction (`BEGIN IMMEDIATE`: SQLite's write lock), so acquire is all or
none for every dimension at once, exactly as the Redis script is:
  rl_requests(tenant, at)               the sliding log: one row per admitted request of the last minute
  rl_state(tenant, level, ts, n)        the TPM token bucket (reserve up front, refund on settle), and
                                        n, the tenant's rows in rl_requests (no count(*) per request)
  rl_streams(tenant, id, expires, pid)  open stream leases; a lease whose process is gone is freed
Time is the wall clock (time.time): the one clock the processes share, and the one a restart keeps.

The connection, its thread, the short-step wait for the write lock and group commit (operations that
queue up share one transaction, each in its own savepoint) are the job store's `SqliteDb`. For several
hosts, use the Redis backend.
"""

import os
import sqlite3
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path

from skyrelay.runtime.router.limits.base import WINDOW_S, Reservation, limit_headers, limited
from skyrelay.runtime.sqlite import SqliteDb, write_txn
from skyrelay.tiers import Tier

SCHEMA = """
CREATE TABLE IF NOT EXISTS rl_requests (tenant TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS rl_requests_by_tenant ON rl_requests (tenant, at);
CREATE TABLE IF NOT EXISTS rl_state (tenant TEXT PRIMARY KEY, level REAL NOT NULL, ts REAL NOT NULL,
                                     n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rl_streams (tenant TEXT NOT NULL, id TEXT NOT NULL, expires REAL NOT NULL,
                                       pid INTEGER NOT NULL, PRIMARY KEY (tenant, id)) WITHOUT ROWID;
"""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class SqliteLimiter:
    def __init__(self, path: str | os.PathLike, stream_lease_s: float = 3600.0,
                 clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.lease = stream_lease_s
        self.clock = clock
        self.db = SqliteDb(self.path, SCHEMA)
        self._acquire_txn = write_txn(self._acquire)
        self._settle_txn = write_txn(self._settle)
        self._pid = os.getpid()
        self._node = f"{self._pid}-{os.urandom(4).hex()}"
        self._ids = count()

    # ---- the decisions, inside one transaction ----
    @staticmethod
    def _state(db: sqlite3.Connection, tenant: str, tier: Tier, now: float) -> tuple[float, int]:
        """(TPM bucket level refilled up to now, rows in the tenant's log)."""
        row = db.execute("SELECT level, ts, n FROM rl_state WHERE tenant=?", (tenant,)).fetchone()
        if row is None:
            return float(tier.tpm), 0
        return min(float(tier.tpm), row[0] + max(0.0, now - row[1]) * tier.tpm / WINDOW_S), row[2]

    def _streams(self, db: sqlite3.Connection, tenant: str, tier: Tier, now: float) -> int:
        db.execute("DELETE FROM rl_streams WHERE tenant=? AND expires<=?", (tenant, now))
        rows = db.execute("SELECT id, pid FROM rl_streams WHERE tenant=?", (tenant,)).fetchall()
        if len(rows) < tier.max_concurrent_streams:
            return len(rows)
        dead = [(tenant, sid) for sid, pid in rows if pid != self._pid and not _pid_alive(pid)]
        db.executemany("DELETE FROM rl_streams WHERE tenant=? AND id=?", dead)  # their holders were killed
        return len(rows) - len(dead)

    def _acquire(self, db: sqlite3.Connection, tenant: str, tier: Tier, tokens: int, stream_id: str | None):
        now = self.clock()
        expired = db.execute("DELETE FROM rl_requests WHERE tenant=? AND at<=?", (tenant, now - WINDOW_S)).rowcount
        level, n = self._state(db, tenant, tier, now)
        n = max(0, n - expired)
        if n >= tier.rpm:  # (a refusal rolls the whole transaction back, the DELETE too)
            oldest = db.execute("SELECT min(at) FROM rl_requests WHERE tenant=?", (tenant,)).fetchone()[0]
            raise limited("requests", oldest + WINDOW_S - now, limit_headers(tier, 0, level))
        need = min(tokens, tier.tpm)
        if need > level:
            raise limited("tokens", (need - level) * WINDOW_S / tier.tpm, limit_headers(tier, tier.rpm - n, level))
        if stream_id is not None:
            if self._streams(db, tenant, tier, now) >= tier.max_concurrent_streams:
                raise limited("streams", 1.0, limit_headers(tier, tier.rpm - n, level))
            db.execute("INSERT INTO rl_streams VALUES (?, ?, ?, ?)", (tenant, stream_id, now + self.lease, self._pid))
        db.execute("INSERT INTO rl_requests VALUES (?, ?)", (tenant, now))
        db.execute("INSERT OR REPLACE INTO rl_state VALUES (?, ?, ?, ?)", (tenant, level - need, now, n + 1))
        return need, limit_headers(tier, tier.rpm - n - 1, level - need)

    def _settle(self, db: sqlite3.Connection, tenant: str, tier: Tier, refund: int, stream_id: str | None):
        now = self.clock()
        level, n = self._state(db, tenant, tier, now)
        db.execute("INSERT OR REPLACE INTO rl_state VALUES (?, ?, ?, ?)", (tenant, min(float(tier.tpm), level + refund),
                                                                          now, n))
        if stream_id is not None:
            db.execute("DELETE FROM rl_streams WHERE tenant=? AND id=?", (tenant, stream_id))

    # ---- Limiter ----
    async def acquire(self, tenant: str, tier: Tier, tokens: int, stream: bool = False) -> Reservation:
        stream_id = f"{self._node}:{next(self._ids)}" if stream else None
        need, headers = await self.db.run(self._acquire_txn, tenant, tier, tokens, stream_id)
        return Reservation(tenant, need, stream_id, headers)

    async def settle(self, reservation: Reservation, tier: Tier, used_tokens: int) -> None:
        if reservation.settled:
            return
        reservation.settled = True
        await self.db.run(self._settle_txn, reservation.tenant, tier, reservation.tokens - used_tokens,
                          reservation.stream_id)

    async def close(self) -> None:
        self.db.close()
