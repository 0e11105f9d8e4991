"""The Cloud Run worker service: an ASGI app with the endpoints Cloud Tasks and Cloud Scheduler call.

- POST /tasks: one Cloud Tasks push. The OIDC bearer is checked first (runtime/clouds/gcp/oidc.py:
  401 without a valid token for this audience, 403 for another identity than the Tasks service
  account; the job is not read). Then the push becomes a CloudTasksDelivery (runtime/queues/
  cloudtasks.py) handed to the shared push delivery (runtime/jobs/delivery.py), and the answer is
  the delivery's settlement: 200 acked or given up (the job already FAILED with its reason: Cloud
  Tasks has no DLQ), 503 retry (the queue's backoff), 500 a crash (on the last attempt the job is
  FAILED `poison_message` first). A push that is not a job push is answered 200 and logged
  (`not_a_job_message`): retrying it could never succeed.
- POST /sweep: one sweep (PENDING jobs untouched for `worker.sweep_grace_s` are re-enqueued);
- POST /batch: one batcher tick (form, submit and poll provider batch jobs);
both called by Cloud Scheduler jobs with an OIDC token for the same service account, checked the same
way. GET /healthz answers 200 without a token (Cloud Run's startup probe).

Metrics: every job that reaches a final state here prints one JSON line to stdout
(runtime/platforms/metrics.py, shared with the Functions worker), the Embedded Metric Format
document the Lambda worker prints too (runtime/batch/observe.py): `Jobs`, `Tokens`,
`CostUsd`, `CacheHits` (the prompt cache served part of the input), `LatencyMs` (submit to final),
by `Tenant` and `Mode`, and the job's `Status`. Cloud Logging parses each line into jsonPayload and
the log-based metrics components/gcp deploys read those fields (skyrelay.deployment.
GCP_METRIC_FIELDS). A batcher tick prints its lines by mode the same way.

The worker, router and adapters are built by `build()` (the service builds them before it serves)
and closed at shutdown (the ASGI lifespan, after uvicorn drained in-flight requests). Every response
carries a JSON body with a stable `code` on errors.
"""

import asyncio
import contextlib
import json
import logging

from skyrelay import deployment as contract
from skyrelay.runtime.platforms.metrics import ObservedStore

log = logging.getLogger("skyrelay.cloud_run.worker")
JSON = "application/json"


def stdout_line(line: str) -> None:
    """A metric line to stdout, flushed: Cloud Run's log agent reads it, and a pipe would buffer it."""
    print(line, flush=True)


def _error(status: int, code: str, message: str):
    from starlette.responses import Response

    return Response(json.dumps({"error": {"code": code, "message": message}}), status, media_type=JSON)


class Handlers:
    """The worker's adapters, built once per instance (tests build theirs)."""

    def __init__(self, store, queue, generate, cfg, config=None, router=None, name: str = "cloud-run",
                 write=stdout_line):
        from skyrelay.runtime.jobs.worker import Worker

        self.store, self.queue, self.cfg, self.config, self.router = store, queue, cfg, config, router
        self.write = write
        self.worker = Worker(ObservedStore(store, write), queue, generate, cfg, name=name, sweep=False)
        self.name = name

    async def push(self, headers, body: bytes) -> tuple[int, dict]:
        """One Cloud Tasks push -> (HTTP status, body)."""
        from skyrelay.runtime.jobs.delivery import deliver
        from skyrelay.runtime.queues.cloudtasks import CloudTasksDelivery

        try:
            delivery = CloudTasksDelivery.from_push(self.queue, headers, body)
        except (KeyError, TypeError, ValueError) as exc:
            log.error("push is not a job message: %s", exc)
            return 200, {"code": "not_a_job_message", "message": str(exc)[:200]}
        (crash,) = await deliver(self.worker, [delivery])
        status = delivery.answer
        out = {"job_id": delivery.job_id, "receive": delivery.receive_count}
        if crash is not None:
            out["code"] = "handler_crashed"
        return status, out

    async def sweep(self) -> dict:
        from skyrelay.runtime.jobs.sweeper import Sweeper

        return {"requeued": await Sweeper(self.store, self.queue, self.cfg, name=self.name + ":sweeper").sweep_once()}

    async def batch_tick(self) -> dict:
        from skyrelay.runtime.batch.observe import EmfObserve
        from skyrelay.runtime.batch.wiring import run_tick

        return await run_tick(self.store, self.queue, self.cfg, self.config, EmfObserve(self.write),
                              self.name + ":batcher")

    async def close(self) -> None:
        await self.worker.sender.close()
        if self.router is not None:
            await self.router.aclose()
        await self.store.close()
        await self.queue.close()


def build() -> Handlers:
    from skyrelay.runtime.jobs.worker import router_generate
    from skyrelay.runtime.platforms.cloud_run import runtime
    from skyrelay.runtime.providers import stdlib_client as transport
    from skyrelay.runtime.router.router import Router

    started = runtime.start()
    # the stdlib transport, as on Lambda: aiohttp's import was a third of the cold start, and its pool
    # buys little here (each call runs in a worker thread; Cloud Run's concurrency bounds the threads)
    router = Router(started.config, call=transport.call, open_stream=transport.open_stream)
    return Handlers(started.store, started.queue, router_generate(router), started.jobs, started.config, router)


def verifier(env):
    """The push verifier from the deployment's variables (the audience defaults to the worker URL)."""
    from skyrelay.runtime.clouds.gcp.oidc import PushVerifier

    audience = env.get(contract.OIDC_AUDIENCE) or env.get(contract.WORKER_URL)
    return PushVerifier(audience, env.get(contract.TASKS_SERVICE_ACCOUNT), env.get(contract.OIDC_CERTS_URL))


def make_app(handlers=build, env=None):
    """The worker's ASGI app over `handlers()` (a Handlers, built once on first use)."""
    import os

    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from skyrelay.runtime.clouds.gcp.oidc import Refused

    env = os.environ if env is None else env
    check = verifier(env)
    state: dict = {}
    lock = asyncio.Lock()

    async def get() -> Handlers:
        if "handlers" not in state:
            async with lock:
                if "handlers" not in state:
                    state["handlers"] = handlers()
        return state["handlers"]

    async def refused(request):
        try:
            await check.verify(request.headers.get("authorization"))
        except Refused as exc:
            code = "unauthenticated" if exc.status == 401 else "forbidden_identity"
            log.warning("%s refused: %s", request.url.path, exc.reason)
            return _error(exc.status, code, exc.reason)
        return None

    async def tasks(request):
        if (no := await refused(request)) is not None:
            return no
        status, out = await (await get()).push(request.headers, await request.body())
        return Response(json.dumps(out), status, media_type=JSON)

    async def sweep(request):
        if (no := await refused(request)) is not None:
            return no
        return JSONResponse(await (await get()).sweep())

    async def batch(request):
        if (no := await refused(request)) is not None:
            return no
        return JSONResponse(await (await get()).batch_tick())

    async def healthz(request):
        return JSONResponse({"ok": True})

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        if "handlers" in state:
            await state.pop("handlers").close()

    app = Starlette(routes=[Route("/tasks", tasks, methods=["POST"]), Route("/sweep", sweep, methods=["POST"]),
                            Route("/batch", batch, methods=["POST"]), Route("/healthz", healthz, methods=["GET"])],
                    lifespan=lifespan)
    app.state.skyrelay = state
    return app
