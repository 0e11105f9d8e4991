"""Local mode: the ASGI app and N in-process job workers over the SQLite store and queue.

    rt = LocalRuntime("examples/local.yaml")     # or a RouterConfig; `jobs=` overrides the section
    await rt.serve("127.0.0.1", 8080)            # blocks; SIGINT/SIGTERM stop it gracefully

`skyrelay serve` calls `serve_config(path, host, port)`, which starts workers only when the config
has a `jobs:` section. Tests and the demo inject `router=` (fake providers) or `generate=`.
"""

import asyncio
import logging

from skyrelay.runtime.jobs.config import JobsConfig
from skyrelay.runtime.jobs.wiring import build_service, jobs_config
from skyrelay.runtime.jobs.worker import Worker, router_generate

log = logging.getLogger("skyrelay.local")
JOBS_ROUTES = "skyrelay.runtime.api.jobs"


class LocalRuntime:
    def __init__(self, config, *, router=None, jobs: JobsConfig | None = None, generate=None,
                 workers: int | None = None, store=None, queue=None):
        from skyrelay.runtime.api.app import ROUTE_MODULES, create_app
        from skyrelay.runtime.router.config import RouterConfig, load_config

        if not isinstance(config, RouterConfig):
            config = load_config(config)
        modules = ROUTE_MODULES if JOBS_ROUTES in ROUTE_MODULES else (*ROUTE_MODULES, JOBS_ROUTES)
        self.app = create_app(config, router=router, route_modules=modules)
        self.ctx = self.app.state.ctx
        self.config = config
        self.jobs_cfg = jobs or jobs_config(config) or JobsConfig()
        self.service = build_service(config, self.ctx.router, store, queue, self.jobs_cfg)
        self.ctx.jobs = self.service
        self.store, self.queue = self.service.store, self.service.queue
        n = self.jobs_cfg.worker.workers if workers is None else workers
        gen = generate or router_generate(self.ctx.router)
        self._own = []
        if n and store is None and queue is None:
            # Workers get their own connections (and DB threads), so submits never queue behind worker writes.
            from skyrelay.runtime.queues import make_queue
            from skyrelay.runtime.stores import make_store

            wstore, wqueue = make_store(self.jobs_cfg.store), make_queue(self.jobs_cfg.queue, self.jobs_cfg.store)
            self._own = [wstore, wqueue]
        else:
            wstore, wqueue = self.store, self.queue
        self.workers = [Worker(wstore, wqueue, gen, self.jobs_cfg, name=f"worker-{i + 1}", sweep=i == 0)
                        for i in range(n)]
        self.service.on_enqueue = self._wake
        self._tasks: list[asyncio.Task] = []

    def _wake(self) -> None:
        for w in self.workers:
            w.wake()

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(w.run(), name=w.name) for w in self.workers]

    async def stop(self, grace_s: float | None = None) -> None:
        await asyncio.gather(*(w.stop(grace_s) for w in self.workers), return_exceptions=True)
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for adapter in (self.store, self.queue, *self._own):
            await adapter.close()

    def server(self, host: str = "127.0.0.1", port: int = 8080, log_level: str = "warning"):
        import uvicorn

        return uvicorn.Server(uvicorn.Config(self.app, host=host, port=port, log_level=log_level,
                                             access_log=False, lifespan="on", timeout_graceful_shutdown=5))

    async def serve(self, host: str = "127.0.0.1", port: int = 8080, log_level: str = "warning") -> None:
        server = self.server(host, port, log_level)
        await self.start()
        try:
            await server.serve()
        finally:
            await self.stop()


def serve_config(config_path, host: str = "127.0.0.1", port: int = 8080, log_level: str = "warning",
                 workers: int | None = None) -> None:
    """Blocking: the API plus, when the config has a `jobs:` section, its in-process workers."""
    from skyrelay.runtime.router.config import load_config

    config = load_config(config_path)
    if jobs_config(config) is None and not workers:
        workers = 0
    rt = LocalRuntime(config, workers=workers)
    log.info("serving on http://%s:%d with %d job worker(s)", host, port, len(rt.workers))
    asyncio.run(rt.serve(host, port, log_level))


async def run_workers(config_path, workers: int | None = None) -> None:
    """Workers only (no API), until cancelled: `python -m skyrelay.runtime.platforms.local.workers`."""
    rt = LocalRuntime(config_path, workers=workers)
    await rt.start()
    try:
        await asyncio.gather(*rt._tasks)
    finally:
        await rt.stop()
