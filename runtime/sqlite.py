"""One SQLite connection on its own thread, with group commit: what the local store, queue and
limiter share (runtime/stores/sqlite.py, runtime/queues/sqlite.py, runtime/router/limits/sqlite.py).

WAL with `synchronous=NORMAL` keeps every committed transaction across a process crash (SIGKILL);
only an OS crash or power loss can drop the last commits. Each user owns one connection on one
thread, so calls never block the event loop and never share a connection between threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

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
