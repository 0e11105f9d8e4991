"""What a routed call reports: the `Outcome` of a non-streamed answer and the `Observer` hooks
(attempts, usage and cost, cache, limits, breaker states) that the API's metrics implement."""

from dataclasses import dataclass, field

from skyrelay.runtime.canonical import ChatResult, Usage


class Observer:
    """Hooks the API's metrics implement; the defaults do nothing."""

    def attempt(self, deployment: str, outcome: str, seconds: float) -> None: ...
    def usage(self, tenant: str, deployment: str, model: str, usage: Usage, cost: float) -> None: ...
    def cache(self, hit: bool) -> None: ...
    def limited(self, tenant: str, dimension: str) -> None: ...
    def breaker(self, deployment: str, state: int) -> None: ...
    def phase(self, component: str, seconds: float) -> None: ...  # latency components (api/timings.py)


@dataclass(slots=True)
class Outcome:
    """A routed, non-streamed answer and what the API reports about it."""

    result: ChatResult
    deployment: str
    cost: float
    cached: bool
    headers: dict[str, str] = field(default_factory=dict)
    upstream_s: float = 0.0
