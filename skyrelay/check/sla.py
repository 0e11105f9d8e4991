"""Latency against budgets for point 6: measured p50/p95/p99 per route and component.

Budgets come from an SLA file (YAML, seconds):

    budgets:                      # any subset; the rest keep DEFAULT_BUDGETS
      auth_limit:    {p50: 0.002, p95: 0.005, p99: 0.010}
      provider_ttft: {p99: 3}
    routes: [/v1/chat/completions]   # optional: the routes judged (default: every route measured)
    requests: 200                    # optional: the built-in load run's size

Measured either by a short built-in load run (the stack's router config served on the simulator,
localrun.py; closed-loop clients, one in four requests streamed) or from a Prometheus that scrapes
skyrelay (`--prometheus URL`: PromQL `histogram_quantile` over `skyrelay_component_seconds_bucket`
in the last WINDOW). Both read the same histogram, so the quantiles are estimated the same way:
linear interpolation inside the bucket, as PromQL does.
"""

import json
import math
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from skyrelay.check.model import CheckInputError

COMPONENTS = ("auth_limit", "routing", "provider_ttft", "full_response")
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
# skyrelay's defaults (seconds): a few milliseconds for the router's own parts, the provider's
# first token within 3 s at p99 and the whole answer inside the 29 s synchronous gateway limit.
DEFAULT_BUDGETS = {
    "auth_limit": {"p50": 0.002, "p95": 0.005, "p99": 0.010},
    "routing": {"p50": 0.002, "p95": 0.005, "p99": 0.010},
    "provider_ttft": {"p50": 0.5, "p95": 1.5, "p99": 3.0},
    "full_response": {"p50": 2.0, "p95": 10.0, "p99": 25.0},
}
METRIC = "skyrelay_component_seconds"
WINDOW = "15m"
CLIENTS = 4


def load_sla(path: Path | None) -> dict:
    """{"budgets": {component: {pXX: s}}, "routes": [...] | None, "requests": n}; CheckInputError if malformed."""
    doc: dict = {}
    if path is not None:
        try:
            doc = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise CheckInputError(f"--sla {path}: {exc}") from None
        if not isinstance(doc, dict):
            raise CheckInputError(f"--sla {path}: expected a mapping with `budgets`")
    unknown = set(doc) - {"budgets", "routes", "requests"}
    if unknown:
        raise CheckInputError(f"--sla {path}: unknown key {sorted(unknown)[0]!r} (budgets, routes, requests)")
    budgets = {c: dict(q) for c, q in DEFAULT_BUDGETS.items()}
    given = doc.get("budgets") or {}
    if not isinstance(given, dict):
        raise CheckInputError(f"--sla {path}: budgets: expected a mapping of components")
    for component, values in given.items():
        if component not in budgets:
            raise CheckInputError(f"--sla {path}: budgets.{component}: unknown component ({', '.join(COMPONENTS)})")
        if not isinstance(values, dict):
            raise CheckInputError(f"--sla {path}: budgets.{component}: expected {{p50, p95, p99}}")
        for q, seconds in values.items():
            if q not in QUANTILES:
                raise CheckInputError(f"--sla {path}: budgets.{component}.{q}: not one of p50, p95, p99")
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
                raise CheckInputError(f"--sla {path}: budgets.{component}.{q}: must be a positive number of seconds")
            budgets[component][q] = float(seconds)
    routes = doc.get("routes")
    if routes is not None and (not isinstance(routes, list) or not all(isinstance(r, str) for r in routes)):
        raise CheckInputError(f"--sla {path}: routes: expected a list of paths")
    requests = doc.get("requests", 200)
    if isinstance(requests, bool) or not isinstance(requests, int) or requests < 20:
        raise CheckInputError(f"--sla {path}: requests: must be an integer >= 20")
    return {"budgets": budgets, "routes": routes, "requests": requests}


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """PromQL's estimate from cumulative (upper bound, count) buckets, +Inf included."""
    buckets = sorted(buckets)
    total = buckets[-1][1] if buckets else 0
    if total == 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if math.isinf(upper):
                return lower
            return lower + (upper - lower) * ((rank - below) / (count - below) if count > below else 0)
        lower, below = upper, count
    return lower


def quantiles_from_exposition(text: str) -> dict[tuple[str, str], dict[str, float]]:
    """{(route, component): {pXX: seconds}} from a /metrics page."""
    from prometheus_client.parser import text_string_to_metric_families

    buckets: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for family in text_string_to_metric_families(text):
        if family.name != METRIC:
            continue
        for s in family.samples:
            if s.name == METRIC + "_bucket":
                key = (s.labels["route"], s.labels["component"])
                buckets.setdefault(key, []).append((float(s.labels["le"]), s.value))
    return {key: {name: histogram_quantile(q, b) for name, q in QUANTILES.items()} for key, b in buckets.items()}


def from_prometheus(url: str) -> dict[tuple[str, str], dict[str, float]]:
    out: dict[tuple[str, str], dict[str, float]] = {}
    for name, q in QUANTILES.items():
        query = f"histogram_quantile({q}, sum by (le, route, component) (rate({METRIC}_bucket[{WINDOW}])))"
        target = url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
        try:
            with urllib.request.urlopen(target, timeout=15) as r:
                doc = json.loads(r.read())
        except (OSError, ValueError) as exc:
            raise CheckInputError(f"--prometheus {url}: unreachable or not a Prometheus API: {exc}") from None
        if doc.get("status") != "success":
            raise CheckInputError(f"--prometheus {url}: query failed: {doc.get('error', doc)}")
        for item in doc["data"]["result"]:
            value = float(item["value"][1])
            if not math.isnan(value):
                out.setdefault((item["metric"].get("route", ""), item["metric"].get("component", "")), {})[name] = value
    if not out:
        raise CheckInputError(f"--prometheus {url}: no {METRIC} samples in the last {WINDOW}")
    return out


def load_run(router_raw: dict, requests: int) -> dict[tuple[str, str], dict[str, float]]:
    """The built-in load run: `requests` completions over every model, then /metrics."""
    from skyrelay.check.localrun import Server, Simulator, write_config

    models = list(router_raw["models"])
    with tempfile.TemporaryDirectory(prefix="skyrelay-sla-") as tmp, Simulator() as sim, \
            Server(write_config(router_raw, sim.url, Path(tmp))) as server:
        counter = iter(range(requests))
        lock = threading.Lock()
        failures: list[int] = []

        def client() -> None:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                status, _ = server.chat(models[i % len(models)], stream=i % 4 == 3)
                if status != 200:
                    failures.append(status)

        threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        if failures:
            raise CheckInputError(f"--sla: {len(failures)} of {requests} load-run requests failed "
                                  f"(status {sorted(set(failures))})")
        return quantiles_from_exposition(server.metrics())
