"""Per-request component timings for the latency histograms (`skyrelay_component_seconds`).

The seed's latency budget splits a request into auth + limit, routing, provider TTFT and the full
response. The pieces are measured where they happen (the chat endpoint times the API-key check,
the router its limiter call and each attempt's first chunk, through `Observer.phase`) and land in a
dict that the overhead middleware opens per request in a context variable, so no signature changes
and hedged attempts (tasks copy the context) report into the same request. The middleware records
routing (its overhead minus auth + limit) at the response start and every component once at the
response's last byte.
"""

from contextvars import ContextVar

COMPONENTS = ("auth_limit", "routing", "provider_ttft", "full_response")
_CURRENT: ContextVar[dict | None] = ContextVar("skyrelay_timings", default=None)


def start() -> tuple[dict, object]:
    timings: dict[str, float] = {}
    return timings, _CURRENT.set(timings)


def reset(token) -> None:
    _CURRENT.reset(token)


def add(component: str, seconds: float) -> None:
    """Adds to a component that has several parts (auth + limit)."""
    timings = _CURRENT.get()
    if timings is not None:
        timings[component] = timings.get(component, 0.0) + seconds


def first(component: str, seconds: float) -> None:
    """Keeps the first report only (TTFT: the attempt that answered first wins a hedged race)."""
    timings = _CURRENT.get()
    if timings is not None:
        timings.setdefault(component, seconds)
