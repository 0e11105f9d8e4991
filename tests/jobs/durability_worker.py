"""A worker process for the durability test: the real Worker over the SQLite store and queue, with an
in-process fake upstream that appends one line per call to a log (O_APPEND writes survive SIGKILL).

    python durability_worker.py <db> <calls.log> <max_attempts>
"""

import asyncio
import os
import random
import sys

from skyrelay.runtime.canonical import ChatResult, Usage
from skyrelay.runtime.errors import UpstreamServerError
from skyrelay.runtime.jobs.config import JobsConfig
from skyrelay.runtime.jobs.worker import Worker
from skyrelay.runtime.queues.sqlite import SqliteJobQueue
from skyrelay.runtime.stores.sqlite import SqliteJobStore


async def main(db: str, log_path: str, max_attempts: int) -> None:
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    rng = random.Random()

    async def generate(request, tenant, preference=None):
        prompt = request.messages[0].content
        os.write(fd, f"{os.getpid()} {prompt}\n".encode())
        await asyncio.sleep(rng.uniform(0.002, 0.012))
        if prompt == "poison":
            raise UpstreamServerError("always fails")
        return ChatResult(f"done {prompt}", Usage(1, 0, 0, 1), "stop", "fake")

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
