"""What the batcher reports: lines served by a provider batch (at the batch price) and lines sent on
demand (fallback), per deployment, with the cost and what the same usage costs on demand.

`Observe` does nothing; the API's Metrics (/metrics) and the Lambda worker's CloudWatch Embedded
Metric Format lines (`emf_lines`) implement it.
"""

import json
import time


class Observe:
    def lines(self, deployment: str, served: str, completed: int, failed: int, cost: float,
              on_demand_cost: float) -> None: ...

    def submitted(self, deployment: str, lines: int) -> None: ...


NAMESPACE = "skyrelay"


def emf(metrics: dict[str, float], dimensions: dict[str, str], now: float | None = None) -> str:
    """One CloudWatch Embedded Metric Format document (Lambda's log line becomes metrics)."""
    return json.dumps({
        "_aws": {"Timestamp": int((now or time.time()) * 1000), "CloudWatchMetrics": [{
            "Namespace": NAMESPACE, "Dimensions": [sorted(dimensions)],
            "Metrics": [{"Name": n, "Unit": "None" if n.endswith("Usd") else "Count"} for n in metrics]}]},
        **dimensions, **metrics}, separators=(",", ":"))


class EmfObserve(Observe):
    """On Lambda: prints `Jobs` by `Mode` (batch | on_demand) and `BatchCostUsd`, read by the dashboard's
    "Batch vs on-demand jobs" widget (components/aws/observability.py)."""

    def __init__(self, write=print):
        self.write = write

    def lines(self, deployment, served, completed, failed, cost, on_demand_cost) -> None:
        if completed or failed:
            metrics = {"Jobs": completed + failed}
            if served == "batch":
                metrics |= {"BatchCostUsd": cost, "BatchSavedUsd": max(0.0, on_demand_cost - cost)}
            self.write(emf(metrics, {"Mode": served}))
