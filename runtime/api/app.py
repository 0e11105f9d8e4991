"""The ASGI app factory. Route modules each expose `routes(ctx) -> list[Route]`; add yours to ROUTE_MODULES.

    app = create_app("examples/local.yaml")          # or a RouterConfig
    app = create_app(config, router=my_router)       # tests inject a Router with fake providers

`ctx` (AppContext) carries the config, the Router, the KeyStore and the Metrics to every route.
"""

import contextlib
import importlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from skyrelay import deployment as contract
from skyrelay.runtime.api import timings
from skyrelay.runtime.api.auth import KeyStore
from skyrelay.runtime.api.chat import ChatEndpoint
from skyrelay.runtime.api.errors import MethodNotAllowed, error_parts
from skyrelay.runtime.api.metrics import Metrics
from skyrelay.runtime.config import load_config
from skyrelay.runtime.errors import NotFound, SkyrelayError
from skyrelay.runtime.router.config import RouterConfig
from skyrelay.runtime.router.router import Observer, Router

# Each module has `routes(ctx) -> list[starlette.routing.Route]`. Order matters only for overlapping paths.
ROUTE_MODULES = (
    "skyrelay.runtime.api.chat",
    "skyrelay.runtime.api.metrics",
    "skyrelay.runtime.api.openapi",
    "skyrelay.runtime.api.health",
    "skyrelay.runtime.api.jobs",
    "skyrelay.runtime.api.files",
    "skyrelay.runtime.api.batches",
    "skyrelay.runtime.api.embeddings",
)
CONFIG_ENV = contract.CONFIG_FILE
_OVERHEAD = b"x-skyrelay-overhead-ms"


@dataclass
class AppContext:
    config: RouterConfig
    router: Router
    keys: KeyStore
    metrics: Metrics
    jobs: object = None  # the JobService a platform attaches (else built from the config's `jobs:`)
    health: Callable[[], dict] | None = None  # GET /healthz's probe (runtime/api/health.py)


class OverheadMiddleware:
    """Adds `x-skyrelay-overhead-ms` to every response and records latency metrics.

    Overhead = time to the response start minus the time spent waiting on upstreams (the chat route
    puts that in `scope["state"]["upstream_s"]`).
    """

    def __init__(self, app, metrics: Metrics, known_paths: frozenset[str], fast_paths: dict | None = None):
        self.app = app
        self.metrics = metrics
        self.known = known_paths
        self.fast = fast_paths or {}  # hot routes that handle their own errors: skip Starlette's router

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        await self.run(self.fast.get(scope["path"], self.app), scope, receive, send)

    async def run(self, app, scope, receive, send):
        t0 = time.perf_counter()
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        parts, token = timings.start()
        path = scope["path"]
        route = path if path in self.known else "other"

        async def send_with_header(message):
            if message["type"] == "http.response.start":
                now = time.perf_counter()
                overhead = now - t0 - state.get("upstream_s", 0.0)
                message["headers"] = [*message.get("headers", ()), (_OVERHEAD, b"%.3f" % (overhead * 1000))]
                self.metrics.observe_request(route, state.get("deployment", ""), message["status"], now - t0, overhead)
                parts["routing"] = max(0.0, overhead - parts.get("auth_limit", 0.0))
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                parts["full_response"] = time.perf_counter() - t0
                self.metrics.observe_components(route, parts)

        try:
            await app(scope, receive, send_with_header)
        finally:
            timings.reset(token)


class App(Starlette):
    """Starlette, except that the hot routes (the chat endpoint, which answers its own errors) go
    straight to the overhead middleware and the endpoint, skipping Starlette's middleware stack."""

    fast: dict
    overhead: OverheadMiddleware

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            endpoint = self.fast.get(scope["path"])
            if endpoint is not None:
                scope["app"] = self
                return await self.overhead.run(endpoint, scope, receive, send)
        await super().__call__(scope, receive, send)


async def _http_error(request, exc: HTTPException):
    from starlette.responses import Response

    if exc.status_code == 404:
        err = NotFound(f"no route {request.url.path}")
    elif exc.status_code == 405:  # Starlette's routes say which methods they have
        err = MethodNotAllowed((exc.headers or {}).get("Allow", ""))
    else:
        err = SkyrelayError(exc.detail)
        err.status = exc.status_code
    status, headers, body = error_parts(err)
    return Response(body, status, headers={k.decode(): v.decode() for k, v in headers})


def create_app(config: RouterConfig | str | os.PathLike, router: Router | None = None,
               route_modules: tuple[str, ...] = ROUTE_MODULES) -> Starlette:
    if not isinstance(config, RouterConfig):
        config = load_config(Path(config))
    metrics = Metrics()
    if router is None:
        router = Router(config, observer=metrics)
    elif type(router.observer) is Observer:
        router.observer = metrics
    ctx = AppContext(config, router, KeyStore(config.tenants), metrics)
    routes = [r for name in route_modules for r in importlib.import_module(name).routes(ctx)]

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await router.aclose()
        try:
            from skyrelay.runtime.providers.client import close_all
        except ImportError:
            return
        await close_all()

    app = App(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: _http_error})
    app.state.ctx = ctx
    known = frozenset(r.path for r in routes)
    app.fast = {r.path: r.app for r in routes if isinstance(r.app, ChatEndpoint)}
    app.overhead = OverheadMiddleware(None, metrics, known)
    app.add_middleware(OverheadMiddleware, metrics=metrics, known_paths=known)
    return app


def app_from_env() -> Starlette:
    """Import-string factory for multi-worker uvicorn: reads the config path from CONFIG_FILE."""
    return create_app(os.environ[CONFIG_ENV])
