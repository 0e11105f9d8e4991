"""Cost from canonical `Usage` and the price table only, attributed to tenant, deployment and model.

Streamed and non-streamed calls reach this through the same canonical `Usage`, so they bill the same.
"""

from collections import defaultdict

from skyrelay.runtime.canonical import Usage
from skyrelay.runtime.router.config import Price


def cost_of(usage: Usage, price: Price) -> float:
    cache_read = price.input if price.cache_read is None else price.cache_read
    cache_write = price.input if price.cache_write is None else price.cache_write
    return (
        usage.input_tokens * price.input
        + usage.cache_read_tokens * cache_read
        + usage.cache_write_tokens * cache_write
        + usage.output_tokens * price.output
    ) / 1000.0


class CostLedger:
    """Running totals per (tenant, deployment, model). In-process; /metrics exports the same figures."""

    def __init__(self) -> None:
        self.totals: dict[tuple[str, str, str], float] = defaultdict(float)
        self.usage: dict[tuple[str, str, str], Usage] = defaultdict(Usage)

    def record(self, tenant: str, deployment: str, model: str, usage: Usage, price: Price) -> float:
        cost = cost_of(usage, price)
        key = (tenant, deployment, model)
        self.totals[key] += cost
        self.usage[key] = self.usage[key] + usage
        return cost

    def by_tenant(self, tenant: str) -> float:
        return sum(v for (t, _, _), v in self.totals.items() if t == tenant)
