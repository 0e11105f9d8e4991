"""Local mode: the ASGI app and job workers over the SQLite store and queue.

`skyrelay serve` calls `serve_config(path, host, port)`. With a `jobs:` section it runs the API in
this process and `jobs.worker.workers` worker processes beside it (`python -m
skyrelay.runtime.platforms.local.workers`), so job work never shares the API's event loop or GIL.
A worker process that dies is restarted with backoff (supervisor.py) and GET /healthz reports it.
SIGTERM/SIGINT stop the API, then the workers, which finish or release their in-flight jobs.
`jobs.worker.in_process: true` runs the workers in the API's event loop instead.

In process (tests, the demo):

    rt = LocalRuntime("examples/local.yaml")     # or a RouterConfig; `jobs=` overrides the section
    await rt.serve("127.0.0.1", 8080)            # blocks; SIGINT/SIGTERM stop it gracefully

Tests and the demo inject `router=` (fake providers) or `generate=`.
"""

import asyncio
import contextlib
import logging
import signal

from skyrelay.runtime.jobs.config import JobsConfig
from skyrelay.runtime.jobs.wiring import build_service, jobs_config
from skyrelay.runtime.jobs.worker import Worker, router_generate
from skyrelay.runtime.platforms import bootstrap
from skyrelay.runtime.platforms.local.supervisor import WorkerSupervisor

log = logging.getLogger("skyrelay.local")
JOBS_ROUTES = "skyrelay.runtime.api.jobs"


class LocalRuntime:
    def __init__(self, config, *, router=None, jobs: JobsConfig | None = None, generate=None,
                 workers: int | None = None, store=None, queue=None, sweep: bool = True):
        from skyrelay.runtime.api.app import ROUTE_MODULES, create_app
        from skyrelay.runtime.config import load_config
        from skyrelay.runtime.router.config import RouterConfig

        if not isinstance(config, RouterConfig):
            config = load_config(config)
        modules = ROUTE_MODULES if JOBS_ROUTES in ROUTE_MODULES else (*ROUTE_MODULES, JOBS_ROUTES)
        self.app = create_app(config, router=router, route_modules=modules)
        self.ctx = self.app.state.ctx
        self.config = config
        # start-up as on every platform (runtime/platforms/bootstrap.py); locally the config file decides all
        self.jobs_cfg = jobs or bootstrap.jobs_config(config, env={})
        self.service = build_service(config, self.ctx.router, store, queue, self.jobs_cfg)
        self.ctx.jobs = self.service
        self.store, self.queue = self.service.store, self.service.queue
        n = self.jobs_cfg.worker.workers if workers is None else workers
        gen = generate or router_generate(self.ctx.router, self.jobs_cfg.worker.stream_sync)
        self._own = []
        if n and store is None and queue is None:
            # Workers get their own connections (and DB threads), so submits never queue behind worker writes.
            wstore, wqueue = bootstrap.store_and_queue(self.jobs_cfg)
            self._own = [wstore, wqueue]
        else:
            wstore, wqueue = self.store, self.queue
        self.workers = [Worker(wstore, wqueue, gen, self.jobs_cfg, name=f"worker-{i + 1}", sweep=sweep and i == 0)
                        for i in range(n)]
        self.service.on_enqueue = self._wake
        # The batcher (runtime/batch) runs beside the worker that sweeps: one per host, like the sweeper.
        self.batcher = None
        if n and sweep and self.jobs_cfg.batch.enabled:
            from skyrelay.runtime.batch.wiring import make_batcher

            self.batcher = make_batcher(wstore, wqueue, self.jobs_cfg, config, observe=self.ctx.metrics)
        self._tasks: list[asyncio.Task] = []
        self.supervisor = None  # a WorkerSupervisor when the workers are processes (serve_config)
        if self.workers:
            self.ctx.health = self._health

    def _wake(self) -> None:
        for w in self.workers:
            w.wake()

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(w.run(), name=w.name) for w in self.workers]
        if self.supervisor is not None:
            self._tasks.append(asyncio.create_task(self.supervisor.run(), name="supervisor"))
        if self.batcher is not None:
            self._tasks.append(asyncio.create_task(self._batch_loop(), name="batcher"))

    async def _batch_loop(self) -> None:
        while True:
            try:
                await self.batcher.tick()
            except Exception:
                log.exception("batcher tick failed; the next one retries")
            await asyncio.sleep(self.jobs_cfg.batch.tick_s)

    def _health(self) -> dict:
        """In-process workers: a worker task that ended while the server runs is a dead worker."""
        alive = sum(not t.done() for t in self._tasks[:len(self.workers)]) if self._tasks else len(self.workers)
        n = len(self.workers)
        status = "ok" if alive == n else ("degraded" if alive else "unavailable")
        return {"status": status, "workers": {"expected": n, "alive": alive, "restarts": 0}}

    async def stop(self, grace_s: float | None = None) -> None:
        await asyncio.gather(*(w.stop(grace_s) for w in self.workers), return_exceptions=True)
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self.batcher is not None:
            await self.batcher.close()
        for adapter in (self.store, self.queue, *self._own):
            await adapter.close()

    def server(self, host: str = "127.0.0.1", port: int = 8080, log_level: str = "warning"):
        """The same uvicorn settings as `skyrelay serve` without jobs (runtime/api/server.py)."""
        import uvicorn

        from skyrelay.runtime.api.server import uvicorn_config

        return uvicorn.Server(uvicorn_config(self.app, host=host, port=port, log_level=log_level,
                                             max_header_bytes=self.config.api.max_header_bytes,
                                             timeout_graceful_shutdown=5))

    async def serve(self, host: str = "127.0.0.1", port: int = 8080, log_level: str = "warning") -> None:
        server = self.server(host, port, log_level)
        await self.start()
        try:
            with _quiet_signals():
                await server.serve()
        finally:
            await self.stop()


@contextlib.contextmanager
def _quiet_signals():
    """uvicorn re-raises SIGINT/SIGTERM after its graceful shutdown; swallow that so the cleanup after
    `server.serve()` (stopping workers) runs to the end."""
    old = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _run(coro):
    """Runs `coro` on uvloop when it is installed (as `uvicorn.run` would)."""
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)


def serve_config(config_path, host: str = "127.0.0.1", port: int = 8080, log_level: str = "warning",
                 workers: int | None = None) -> None:
    """Blocking: the API, plus, when the config has a `jobs:` section, its workers (separate processes,
    kept alive by a WorkerSupervisor, unless `jobs.worker.in_process`)."""
    from skyrelay.runtime.config import load_config

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = load_config(config_path)
    jobs = jobs_config(config)
    if jobs is None and not workers:
        workers = 0
    n = (jobs.worker.workers if jobs is not None else 0) if workers is None else workers
    if jobs is None or jobs.worker.in_process or n == 0:
        rt = LocalRuntime(config, workers=n)
        log.info("serving on http://%s:%d with %d in-process job worker(s)", host, port, len(rt.workers))
        _run(rt.serve(host, port, log_level))
        return
    rt = LocalRuntime(config, workers=0)  # the API only; it opens the database (and its schema) first
    for adapter in (rt.store, rt.queue):  # SQLite: the worker processes checkpoint the WAL, off the submit path
        set_checkpoint = getattr(getattr(adapter, "db", None), "autocheckpoint", None)
        if set_checkpoint is not None:
            set_checkpoint(0)
    w = jobs.worker
    rt.supervisor = WorkerSupervisor(config_path, n, w.restart_backoff_s, w.restart_backoff_max_s)
    rt.ctx.health = rt.supervisor.health
    rt.supervisor.start()
    log.info("serving on http://%s:%d with %d job worker process(es)", host, port, n)
    try:
        _run(rt.serve(host, port, log_level))
    finally:
        rt.supervisor.stop(w.shutdown_grace_s)


async def run_workers(config_path, workers: int | None = None, *, stop: asyncio.Event | None = None,
                      sweep: bool = True, name: str | None = None) -> None:
    """Workers only (no API) until `stop` is set (or the task is cancelled); then in-flight jobs get
    `shutdown_grace_s` and the rest are released. `python -m skyrelay.runtime.platforms.local.workers`."""
    rt = LocalRuntime(config_path, workers=1 if workers is None else workers, sweep=sweep)
    if name:
        for i, w in enumerate(rt.workers):
            w.name = name if len(rt.workers) == 1 else f"{name}.{i + 1}"
    await rt.start()
    try:
        if stop is None:
            await asyncio.gather(*rt._tasks)
        else:
            await stop.wait()
    finally:
        await rt.stop()
        await rt.ctx.router.aclose()
