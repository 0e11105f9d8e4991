"""Point 6, P99 measured and the SLA documented per endpoint.

Always: /metrics must carry the latency histograms per route (`skyrelay_request_seconds{route}`)
and per component (`skyrelay_component_seconds{route, component}`: auth_limit, routing,
provider_ttft, full_response), checked on the metrics the API builds; and the composite
availability the configured failover implies is printed from the seed's table, with its
assumptions. With --sla FILE or --prometheus URL: measured p50/p95/p99 against the budgets (sla.py);
a quantile over its budget fails the row.
"""

from pathlib import Path

from skyrelay.check import sla
from skyrelay.check.model import Row, judged
from skyrelay.check.subject import Subject

TITLE = "P99 measured and the SLA documented per endpoint"
FIX = "keep the component histograms; meet the budgets (or state your own in the SLA file); add failover"
# The seed's availability table: what a model's failover set-up implies, per month.
AVAILABILITY = {
    "single provider": ("99.0-99.5%", 99.0),
    "active-passive": ("99.9%", 99.9),
    "active-active + breaker": ("99.95%", 99.95),
}
ASSUMPTIONS = ("assumes independent failures of the deployments (distinct regions or providers), each provider "
               "99.0-99.5% on its own, failover within the measured takeover time (point 5), and the gateway and "
               "compute ({}) not counted")
# The gateway and compute each cloud's stack puts in front of the router (their SLAs are their own).
GATEWAY_AND_COMPUTE = {"aws": "API Gateway, Lambda: 99.95% SLAs", "azure": "API Management, Azure Functions",
                       "gcp": "API Gateway, Cloud Run"}


def check(subject: Subject, sla_file: Path | None = None, prometheus: str | None = None) -> Row:
    problems, warnings, evidence = [], [], []
    _instrumented(problems, evidence)
    figures: dict = {}
    cfg = subject.router
    if cfg is None:
        problems.append(subject.router_error or "no router config in the plan (CONFIG_JSON)")
    else:
        figures["availability"] = _availability(cfg, evidence, subject.serving, subject.cloud)
    if cfg is not None and (sla_file is not None or prometheus is not None):
        spec = sla.load_sla(sla_file)
        measured = sla.from_prometheus(prometheus) if prometheus else sla.load_run(subject.router_raw, spec["requests"])
        figures["latency"] = _judge(measured, spec, problems, warnings, evidence,
                                    "Prometheus" if prometheus else f"built-in load run, {spec['requests']} requests")
    else:
        warnings.append("latency not measured: `skyrelay check --sla FILE` (built-in load run) or --prometheus URL")
    return judged(6, TITLE, problems, evidence, FIX, warnings, figures)


def _instrumented(problems: list[str], evidence: list[str]) -> None:
    from skyrelay.runtime.api.metrics import Metrics
    from skyrelay.runtime.api.timings import COMPONENTS

    m = Metrics()
    request_labels = m.request._labelnames
    component_labels = m.component._labelnames
    if "route" not in request_labels or tuple(component_labels) != ("route", "component"):
        problems.append("/metrics lacks the per-route or per-component latency histograms")
        return
    evidence.append(f"/metrics: {m.request._name}{{route}} and {m.component._name}{{route, component}} with "
                    f"components {', '.join(COMPONENTS)}")


def _availability(cfg, evidence: list[str], serving=lambda m: m.deployments, cloud: str = "aws") -> dict:
    per_model = {}
    for name, m in cfg.models.items():
        if len(serving(m)) == 1:
            kind = "single provider"
        elif m.strategy == "priority":
            kind = "active-passive"
        else:
            kind = "active-active + breaker"
        per_model[name] = kind
        evidence.append(f"model {name}: {kind} ({len(serving(m))} deployment(s), {m.strategy}"
                        f"{', fallback response' if m.fallback else ''}): {AVAILABILITY[kind][0]}")
    weakest = min(per_model.values(), key=lambda k: AVAILABILITY[k][1])
    evidence.append(f"composite availability: {AVAILABILITY[weakest][0]} (the weakest model); "
                    f"{ASSUMPTIONS.format(GATEWAY_AND_COMPUTE.get(cloud, 'the gateway and compute'))}")
    return {"per_model": per_model, "composite": AVAILABILITY[weakest][0]}


def _judge(measured: dict, spec: dict, problems: list[str], warnings: list[str], evidence: list[str],
           source: str) -> dict:
    # By default the API routes a client calls: those with an auth_limit sample. A scraped /metrics or a
    # health check has no auth or provider component, so it is no SLA route; a component a default route
    # never has (no provider call behind GET /v1/jobs/{id}) is skipped, one a listed route lacks warns.
    listed = bool(spec["routes"])
    routes = spec["routes"] or sorted({route for route, c in measured if route != "other" and c == "auth_limit"
                                       and any(v is not None for v in measured[(route, c)].values())})
    out: dict = {}
    for route in routes:
        for component in sla.COMPONENTS:
            values = measured.get((route, component))
            if not values or all(v is None for v in values.values()):
                if listed:
                    warnings.append(f"{route} {component}: no samples")
                continue
            budget = spec["budgets"][component]
            parts, over = [], []
            for q in sla.QUANTILES:
                v = values.get(q)
                if v is None:
                    continue
                parts.append(f"{q} {v * 1000:.1f} ms / {budget[q] * 1000:g}")
                if v > budget[q]:
                    over.append(q)
            line = f"{route} {component}: {', '.join(parts)} ({source})"
            (problems if over else evidence).append(line + (f": over budget at {', '.join(over)}" if over else ""))
            out[f"{route} {component}"] = {"measured": values, "budget": budget}
    return out
