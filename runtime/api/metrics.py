"""Prometheus metrics, and the router `Observer` that feeds them.

With several uvicorn workers, `skyrelay serve` sets PROMETHEUS_MULTIPROC_DIR so /metrics aggregates
all of them.
"""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from skyrelay.runtime.api.errors import Endpoint
from skyrelay.runtime.canonical import Usage
from skyrelay.runtime.router.router import Observer
from starlette.routing import Route

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics(Observer):
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.request = Histogram("skyrelay_request_seconds", "request latency", ["route", "deployment", "status"],
                                 registry=r, buckets=_BUCKETS)
        self.overhead = Histogram("skyrelay_overhead_seconds", "router overhead (request minus upstream time)",
                                  ["route"], registry=r, buckets=_BUCKETS)
        self.attempts = Counter("skyrelay_upstream_attempts", "upstream attempts", ["deployment", "outcome"],
                                registry=r)
        self.breaker_state = Gauge("skyrelay_breaker_state", "0 closed, 1 half-open, 2 open", ["deployment"],
                                   registry=r, multiprocess_mode="max")
        self.rejections = Counter("skyrelay_limiter_rejections", "requests refused by a tier limit",
                                  ["tenant", "dimension"], registry=r)
        self.tokens = Counter("skyrelay_tokens", "tokens by kind", ["tenant", "deployment", "model", "kind"],
                              registry=r)
        self.cost_total = Counter("skyrelay_cost", "cost in price-table currency", ["tenant", "deployment", "model"],
                                  registry=r)
        self.cache_requests = Counter("skyrelay_cache_requests", "response cache lookups", ["result"], registry=r)
        self._hit = self.cache_requests.labels("hit")
        self._miss = self.cache_requests.labels("miss")

    # ---- Observer ----
    def attempt(self, deployment: str, outcome: str, seconds: float) -> None:
        self.attempts.labels(deployment, outcome).inc()

    def usage(self, tenant: str, deployment: str, model: str, usage: Usage, cost: float) -> None:
        t = self.tokens
        if usage.input_tokens:
            t.labels(tenant, deployment, model, "input").inc(usage.input_tokens)
        if usage.output_tokens:
            t.labels(tenant, deployment, model, "output").inc(usage.output_tokens)
        if usage.cache_read_tokens:
            t.labels(tenant, deployment, model, "cache_read").inc(usage.cache_read_tokens)
        if usage.cache_write_tokens:
            t.labels(tenant, deployment, model, "cache_write").inc(usage.cache_write_tokens)
        if cost:
            self.cost_total.labels(tenant, deployment, model).inc(cost)

    def cache(self, hit: bool) -> None:
        (self._hit if hit else self._miss).inc()

    def limited(self, tenant: str, dimension: str) -> None:
        self.rejections.labels(tenant, dimension).inc()

    def breaker(self, deployment: str, state: int) -> None:
        self.breaker_state.labels(deployment).set(state)

    # ---- exposition ----
    def render(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


def routes(ctx) -> list[Route]:
    async def metrics_app(scope, receive, send):
        body = ctx.metrics.render()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", CONTENT_TYPE_LATEST.encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return [Route("/metrics", Endpoint(metrics_app), methods=["GET"])]
