"""Group commit in the SQLite adapters: concurrent writes share a transaction, yet each one
succeeds or fails on its own and is visible to other connections once answered."""

import asyncio
import sqlite3

import pytest

from skyrelay.runtime.sqlite import SqliteDb, write_txn

pytestmark = pytest.mark.anyio

SCHEMA = "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)"


@write_txn
def _put(conn, k, v):
    conn.execute("INSERT INTO t(k, v) VALUES (?, ?)", (k, v))
    if v < 0:
        raise ValueError("negative")  # after its write: the savepoint must undo it
    return k


def _count(conn):
    return conn.execute("SELECT COUNT(*) FROM t").fetchone()[0]


async def test_concurrent_writes_fail_alone_and_are_committed_when_answered(tmp_path):
    db = SqliteDb(tmp_path / "g.db", SCHEMA)
    try:
        calls = [db.run(_put, f"k{i}", -1 if i % 7 == 3 else i) for i in range(50)]
        calls.append(db.run(_put, "k0", 5))  # a duplicate key: IntegrityError, for this call only
        calls.append(db.run(_count))  # a read among the writes
        out = await asyncio.gather(*calls, return_exceptions=True)
        failed = [i for i, r in enumerate(out[:50]) if isinstance(r, ValueError)]
        assert failed == [i for i in range(50) if i % 7 == 3]
        assert isinstance(out[50], sqlite3.IntegrityError)
        assert all(out[i] == f"k{i}" for i in range(50) if i not in failed)
        other = sqlite3.connect(tmp_path / "g.db")  # another connection sees every answered write
        try:
            keys = {k for (k,) in other.execute("SELECT k FROM t")}
        finally:
            other.close()
        assert keys == {f"k{i}" for i in range(50) if i not in failed}
        assert db.run_sync(_count) == len(keys)
    finally:
        db.close()


async def test_a_write_alone_still_runs_in_its_own_transaction(tmp_path):
    db = SqliteDb(tmp_path / "g.db", SCHEMA)
    try:
        assert await db.run(_put, "a", 1) == "a"
        with pytest.raises(ValueError):
            await db.run(_put, "b", -1)
        assert await db.run(_count) == 1
    finally:
        db.close()
