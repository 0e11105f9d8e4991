"""A Cloud Run worker process for the GCP durability test: the real worker service
(runtime/platforms/cloud_run/worker.py: OIDC check, push -> delivery -> answer) on uvicorn, over the
Firestore store and the Cloud Tasks queue, with an in-process fake upstream that appends one line per
call to a log (O_APPEND writes survive SIGKILL).

    python -m tests.gcp_runtime.durability_worker <collection> <interactive queue> <batch queue> <calls.log> <max_attempts> <port>

The peers' endpoints and the push identity come in the environment, under the contract's names.
"""

import asyncio
import os
import random
import sys

from skyrelay import deployment as contract
from skyrelay.runtime.canonical import ChatResult, Usage
from skyrelay.runtime.errors import UpstreamServerError
from skyrelay.runtime.jobs.config import JobsConfig
from skyrelay.runtime.platforms.cloud_run.worker import Handlers, make_app
from skyrelay.runtime.queues.cloudtasks import CloudTasksQueue
from skyrelay.runtime.stores.firestore import FirestoreJobStore
from tests.contracts.gcp_adapters import PROJECT

VISIBILITY_S = 30


def main(collection: str, interactive: str, batch: str, log_path: str, max_attempts: int, port: int) -> None:
    import uvicorn

    from skyrelay.runtime.api.server import uvicorn_config

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
        "queue": {"visibility_timeout_s": VISIBILITY_S, "max_receives": 50},
        "worker": {"max_attempts": max_attempts, "backoff_base_s": 0.05, "backoff_max_s": 0.2},
    })
    env = os.environ
    queue = CloudTasksQueue({"interactive": interactive, "batch": batch}, env[contract.WORKER_URL],
                            env[contract.TASKS_SERVICE_ACCOUNT], env[contract.OIDC_AUDIENCE],
                            dispatch_deadline_s=int(env[contract.DISPATCH_DEADLINE_SECONDS]),
                            endpoint=env[contract.TASKS_ENDPOINT], max_receives=50)
    store = FirestoreJobStore(PROJECT, collection)
    handlers = Handlers(store, queue, generate, cfg, name=f"pid-{os.getpid()}")
    app = make_app(handlers=lambda: handlers, env=env)
    uvicorn.Server(uvicorn_config(app, host="127.0.0.1", port=port, timeout_graceful_shutdown=1)).run()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
