"""A worker process for the durability test: the real Worker over the SQLite store and queue, with an
in-process fake upstream that appends one line per call to a log (O_APPEND writes survive SIGKILL).

    python -m tests.jobs.durability_worker <db> <calls.log> <max_attempts>
"""

import asyncio
import os
import sys

from skyrelay.runtime.jobs.config import JobsConfig
from skyrelay.runtime.jobs.worker import Worker
from skyrelay.runtime.queues.sqlite import SqliteJobQueue
from skyrelay.runtime.stores.sqlite import SqliteJobStore
from tests.durability import logging_upstream


async def main(db: str, log_path: str, max_attempts: int) -> None:
    generate = logging_upstream(log_path)

    cfg = JobsConfig.model_validate({
        "queue": {"visibility_timeout_s": 1, "max_receives": 50},
        "worker": {"concurrency": 8, "max_attempts": max_attempts, "backoff_base_s": 0.05, "backoff_max_s": 0.2,
                   "poll_interval_s": 0.02},
    })
    store, queue = SqliteJobStore(db), SqliteJobQueue(db, max_receives=50)
    worker = Worker(store, queue, generate, cfg, name=f"pid-{os.getpid()}")
    task = asyncio.create_task(worker.run())
    print("ready", flush=True)
    await task


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
