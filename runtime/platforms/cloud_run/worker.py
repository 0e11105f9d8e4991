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
import json
import logging

from skyrelay import deployment as contract
from skyrelay.runtime.api.body import read_body
from skyrelay.runtime.errors import PayloadTooLarge, ValidationFailed
from skyrelay.runtime.platforms.metrics import ObservedStore

log = logging.getLogger("skyrelay.cloud_run.worker")
JSON = "application/json"
MAX_BODY_BYTES = 1 << 20


def stdout_line(line: str) -> None:
    """A metric line to stdout, flushed: Cloud Run's log agent reads it, and a pipe would buffer it."""
    print(line, flush=True)


def _error(status: int, code: str, message: str) -> tuple[int, dict]:
    return status, {"error": {"code": code, "message": message}}


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
    return Handlers(started.store, started.queue, router_generate(router, started.jobs.worker.stream_sync), started.jobs, started.config, router)


def verifier(env):
    """The push verifier from the deployment's variables (the audience defaults to the worker URL)."""
    from skyrelay.runtime.clouds.gcp.oidc import PushVerifier

    audience = env.get(contract.OIDC_AUDIENCE) or env.get(contract.WORKER_URL)
    return PushVerifier(audience, env.get(contract.TASKS_SERVICE_ACCOUNT), env.get(contract.OIDC_CERTS_URL))


def make_app(handlers=build, env=None):
    """The worker's ASGI app over `handlers()` (a Handlers, built once on first use).

    A plain ASGI callable rather than Starlette: four fixed routes and JSON answers need no framework,
    and Starlette's import (with anyio) was cold-start time on every new instance."""
    import os

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

    async def refused(path: str, headers: dict):
        try:
            await check.verify(headers.get("authorization"))
        except Refused as exc:
            code = "unauthenticated" if exc.status == 401 else "forbidden_identity"
            log.warning("%s refused: %s", path, exc.reason)
            return _error(exc.status, code, exc.reason)
        return None

    async def tasks(headers: dict, body: bytes):
        return await (await get()).push(headers, body)

    async def sweep(headers: dict, body: bytes):
        return 200, await (await get()).sweep()

    async def batch(headers: dict, body: bytes):
        return 200, await (await get()).batch_tick()

    routes = {"/tasks": tasks, "/sweep": sweep, "/batch": batch}

    async def answer(scope, receive) -> tuple[int, dict]:
        path, method = scope["path"], scope["method"]
        if path == "/healthz":
            return (200, {"ok": True}) if method in ("GET", "HEAD") else _error(405, "method_not_allowed", method)
        route = routes.get(path)
        if route is None:
            return _error(404, "not_found", path)
        if method != "POST":
            return _error(405, "method_not_allowed", method)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if (no := await refused(path, headers)) is not None:
            return no
        try:
            body = await read_body(receive, MAX_BODY_BYTES, headers.get("content-length"))
        except PayloadTooLarge:
            return _error(413, "payload_too_large", f"a push body is at most {MAX_BODY_BYTES} bytes")
        except ValidationFailed as exc:  # a bad Content-Length, or the client left mid-body
            return _error(exc.status, exc.code, exc.message)
        return await route(headers, body)

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await lifespan(receive, send)
        if scope["type"] != "http":
            return None
        try:
            status, out = await answer(scope, receive)
        except Exception:  # noqa: BLE001 - an unexpected crash is a 500 with a stable code (Tasks retries)
            log.exception("%s crashed", scope.get("path"))
            status, out = _error(500, "internal_error", "the worker crashed on this request")
        data = json.dumps(out).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", JSON.encode()), (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})

    async def lifespan(receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    if "handlers" in state:
                        await state.pop("handlers").close()
                except Exception as exc:  # noqa: BLE001 - reported to the server, which logs it
                    await send({"type": "lifespan.shutdown.failed", "message": repr(exc)})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                return

    app.skyrelay = state
    return app
