"""Prometheus metrics, and the router `Observer` that feeds them.

With several uvicorn workers, `skyrelay serve` sets PROMETHEUS_MULTIPROC_DIR so /metrics aggregates
all of them. GET /metrics needs `Authorization: Bearer <token>` with a token whose sha256 is in
`api.metrics_keys` (no entry: closed to everyone); tenant API keys never read it.
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
from starlette.routing import Route

from skyrelay.runtime.api import timings
from skyrelay.runtime.api.auth import TokenSet
from skyrelay.runtime.api.errors import Endpoint
from skyrelay.runtime.canonical import Usage
from skyrelay.runtime.router.router import Observer

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
        # batch work (runtime/batch/observe.py): lines by how they were served, and the batch price's saving
        self.batch_lines = Counter("skyrelay_batch_lines", "batch lines and mode: batch jobs, by how they were served "
                                   "(batch: a provider batch job at its batch price; on_demand: fallback)",
                                   ["deployment", "served", "outcome"], registry=r)
        self.batch_cost = Counter("skyrelay_batch_cost", "cost of the lines provider batches served", ["deployment"],
                                  registry=r)
        self.batch_saved = Counter("skyrelay_batch_saved", "on-demand cost minus batch cost of those lines",
                                   ["deployment"], registry=r)
        self.batch_jobs = Counter("skyrelay_batch_provider_jobs", "provider batch jobs submitted", ["deployment"],
                                  registry=r)
        # the seed's latency budget per route: auth_limit, routing, provider_ttft, full_response (api/timings.py)
        self.component = Histogram("skyrelay_component_seconds", "request latency by component", ["route", "component"],
                                   registry=r, buckets=_BUCKETS)
        self.cache_requests = Counter("skyrelay_cache_requests", "response cache lookups", ["result"], registry=r)
        self._hit = self.cache_requests.labels("hit")
        self._miss = self.cache_requests.labels("miss")
        # `labels()` costs several microseconds (validation, str(), a lock); the hot path looks the
        # labelled children up in plain dicts instead. Label sets are bounded by the config.
        self._requests: dict[tuple, tuple] = {}
        self._children: dict[tuple, object] = {}

    def observe_request(self, route: str, deployment: str, status: int, seconds: float, overhead_s: float) -> None:
        """One request's latency and the router's own overhead (called by the overhead middleware)."""
        key = (route, deployment, status)
        pair = self._requests.get(key)
        if pair is None:
            pair = self._requests[key] = (self.request.labels(route, deployment, str(status)),
                                          self.overhead.labels(route))
        pair[0].observe(seconds)
        pair[1].observe(overhead_s)

    # ---- Observer ----
    def attempt(self, deployment: str, outcome: str, seconds: float) -> None:
        self._inc(self.attempts, (deployment, outcome), 1)

    def usage(self, tenant: str, deployment: str, model: str, usage: Usage, cost: float) -> None:
        if usage.input_tokens:
            self._inc(self.tokens, (tenant, deployment, model, "input"), usage.input_tokens)
        if usage.output_tokens:
            self._inc(self.tokens, (tenant, deployment, model, "output"), usage.output_tokens)
        if usage.cache_read_tokens:
            self._inc(self.tokens, (tenant, deployment, model, "cache_read"), usage.cache_read_tokens)
        if usage.cache_write_tokens:
            self._inc(self.tokens, (tenant, deployment, model, "cache_write"), usage.cache_write_tokens)
        if cost:
            self._inc(self.cost_total, (tenant, deployment, model), cost)

    def _inc(self, metric: Counter, key: tuple, amount: float) -> None:
        child = self._children.get((metric, key))
        if child is None:  # created on first use, so /metrics shows only the series that happened
            child = self._children[(metric, key)] = metric.labels(*key)
        child.inc(amount)

    # ---- the batcher's Observe (runtime/batch/observe.py) ----
    def lines(self, deployment: str, served: str, completed: int, failed: int, cost: float,
              on_demand_cost: float) -> None:
        if completed:
            self._inc(self.batch_lines, (deployment, served, "completed"), completed)
        if failed:
            self._inc(self.batch_lines, (deployment, served, "failed"), failed)
        if served == "batch" and completed:
            self._inc(self.batch_cost, (deployment,), cost)
            self._inc(self.batch_saved, (deployment,), max(0.0, on_demand_cost - cost))

    def submitted(self, deployment: str, lines: int) -> None:
        self._inc(self.batch_jobs, (deployment,), 1)

    def cache(self, hit: bool) -> None:
        (self._hit if hit else self._miss).inc()

    def limited(self, tenant: str, dimension: str) -> None:
        self.rejections.labels(tenant, dimension).inc()

    def breaker(self, deployment: str, state: int) -> None:
        self.breaker_state.labels(deployment).set(state)

    def phase(self, component: str, seconds: float) -> None:
        if component == "provider_ttft":
            timings.first(component, seconds)
        else:
            timings.add(component, seconds)

    def observe_components(self, route: str, values: dict[str, float]) -> None:
        for component, seconds in values.items():
            child = self._children.get((self.component, (route, component)))
            if child is None:
                child = self._children[(self.component, (route, component))] = self.component.labels(route, component)
            child.observe(seconds)

    # ---- exposition ----
    def render(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


def routes(ctx) -> list[Route]:
    tokens = TokenSet(ctx.config.api.metrics_keys, "GET /metrics", "api.metrics_keys")

    async def metrics_app(scope, receive, send):
        tokens.check(dict(scope["headers"]).get(b"authorization"))  # tenant names, tokens and cost: not public
        body = ctx.metrics.render()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", CONTENT_TYPE_LATEST.encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return [Route("/metrics", Endpoint(metrics_app), methods=["GET"])]
