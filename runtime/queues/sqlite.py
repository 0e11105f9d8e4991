"""The local JobQueue: a durable queue table in SQLite (WAL), next to the jobs table by default.

Receive is one write transaction that picks the oldest ready messages (interactive first), stamps a
fresh receipt and hides them for the visibility timeout. Messages over `max_receives` move to the
dead-letter table in the same transaction, as an SQS redrive policy would.
"""

import os
import time
from collections.abc import Callable
from pathlib import Path

from skyrelay.runtime.queues.base import DeadLetter, Message, PulledDelivery
from skyrelay.runtime.sqlite import SqliteDb, write_txn

SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL,
  priority INTEGER NOT NULL,
  visible_at REAL NOT NULL,
  receive_count INTEGER NOT NULL DEFAULT 0,
  receipt TEXT,
  enqueued_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_ready ON queue(priority, visible_at);
CREATE TABLE IF NOT EXISTS dead_letters (
  id INTEGER PRIMARY KEY,
  job_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  receive_count INTEGER NOT NULL,
  at REAL NOT NULL
)
"""
_PRIO = {"interactive": 0, "batch": 1}
_NAMES = {0: "interactive", 1: "batch"}


class SqliteJobQueue:
    def __init__(self, path: str | Path, max_receives: int = 10, clock: Callable[[], float] = time.time):
        self.db = SqliteDb(path, SCHEMA)
        self.max_receives = max_receives
        self.clock = clock

    async def enqueue(self, job_id: str, priority: str = "interactive", delay_s: float = 0.0) -> str:
        if priority not in _PRIO:
            raise ValueError(f"priority must be one of {list(_PRIO)}")
        return await self.db.run(self._enqueue, job_id, _PRIO[priority], self.clock(), max(0.0, delay_s))

    async def receive(self, max_messages: int = 1, visibility_timeout_s: float = 30.0) -> list[PulledDelivery]:
        msgs = await self.db.run(self._receive, max_messages, visibility_timeout_s, self.clock(), self.max_receives)
        return [PulledDelivery(self, m, self.max_receives) for m in msgs]

    async def ack(self, msg: Message) -> bool:
        return await self.db.run(self._ack, int(msg.id), msg.receipt)

    async def nack(self, msg: Message, delay_s: float = 0.0) -> bool:
        return await self.db.run(self._nack, int(msg.id), msg.receipt, self.clock() + max(0.0, delay_s))

    async def extend(self, msg: Message, visibility_timeout_s: float) -> bool:
        return await self.db.run(self._extend, int(msg.id), msg.receipt, self.clock() + visibility_timeout_s)

    async def dead_letter(self, msg: Message, reason: str) -> bool:
        return await self.db.run(self._dead_letter, int(msg.id), msg.receipt, reason, self.clock())

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        return await self.db.run(self._dead_letters, limit)

    async def depth(self) -> int:
        return await self.db.run(self._depth)

    async def close(self) -> None:
        self.db.close()

    # ---- on the db thread ----
    @staticmethod
    @write_txn
    def _enqueue(conn, job_id, prio, now, delay) -> str:
        cur = conn.execute("INSERT INTO queue(job_id, priority, visible_at, enqueued_at) VALUES (?,?,?,?)",
                           (job_id, prio, now + delay, now))
        return str(cur.lastrowid)

    @staticmethod
    @write_txn
    def _receive(conn, n, vis, now, max_receives) -> list[Message]:
        out: list[Message] = []
        while len(out) < n:
            rows = []
            for prio in (0, 1):
                rows += conn.execute(
                    "SELECT id, job_id, priority, receive_count, enqueued_at FROM queue"
                    " WHERE priority=? AND visible_at<=? ORDER BY visible_at, id LIMIT ?",
                    (prio, now, n - len(out) - len(rows))).fetchall()
                if len(out) + len(rows) >= n:
                    break
            if not rows:
                break
            for mid, job_id, prio, count, enq in rows:
                if count >= max_receives:
                    conn.execute("DELETE FROM queue WHERE id=?", (mid,))
                    conn.execute("INSERT INTO dead_letters(id, job_id, reason, receive_count, at) VALUES (?,?,?,?,?)",
                                 (mid, job_id, "max_receives", count, now))
                    continue
                receipt = os.urandom(8).hex()
                conn.execute("UPDATE queue SET visible_at=?, receive_count=?, receipt=? WHERE id=?",
                             (now + vis, count + 1, receipt, mid))
                out.append(Message(str(mid), job_id, _NAMES[prio], count + 1, receipt, enq))
        return out

    @staticmethod
    @write_txn
    def _ack(conn, mid, receipt) -> bool:
        return conn.execute("DELETE FROM queue WHERE id=? AND receipt=?", (mid, receipt)).rowcount == 1

    @staticmethod
    @write_txn
    def _nack(conn, mid, receipt, visible_at) -> bool:
        return conn.execute("UPDATE queue SET visible_at=?, receipt=NULL WHERE id=? AND receipt=?",
                            (visible_at, mid, receipt)).rowcount == 1

    @staticmethod
    @write_txn
    def _extend(conn, mid, receipt, visible_at) -> bool:
        return conn.execute("UPDATE queue SET visible_at=? WHERE id=? AND receipt=?",
                            (visible_at, mid, receipt)).rowcount == 1

    @staticmethod
    @write_txn
    def _dead_letter(conn, mid, receipt, reason, now) -> bool:
        row = conn.execute("SELECT job_id, receive_count FROM queue WHERE id=? AND receipt=?", (mid, receipt)).fetchone()
        if row is None:
            return False
        conn.execute("DELETE FROM queue WHERE id=?", (mid,))
        conn.execute("INSERT INTO dead_letters(id, job_id, reason, receive_count, at) VALUES (?,?,?,?,?)",
                     (mid, row[0], reason, row[1], now))
        return True

    @staticmethod
    def _dead_letters(conn, limit) -> list[DeadLetter]:
        rows = conn.execute("SELECT id, job_id, reason, receive_count, at FROM dead_letters ORDER BY at LIMIT ?",
                            (limit,)).fetchall()
        return [DeadLetter(str(r[0]), r[1], r[2], r[3], r[4]) for r in rows]

    @staticmethod
    def _depth(conn) -> int:
        return conn.execute("SELECT COUNT(*) FROM queue").fetchone()[0]


def from_config(cfg, store_cfg=None) -> SqliteJobQueue:
    path = cfg.path or (store_cfg.path if store_cfg is not None else ".skyrelay/jobs.db")
    return SqliteJobQueue(path, max_receives=cfg.max_receives)
