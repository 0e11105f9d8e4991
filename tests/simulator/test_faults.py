"""Every simulator fault maps to the right canonical error in our client, at the right moment.

Errors that happen before the first delta must surface from `await open_stream(...)` (so the router
can still fail over); errors after it surface while iterating. Call counts come from `/_sim/calls`.
"""

import time

import pytest

from skyrelay.runtime.errors import (
    ContentFiltered,
    ContextLengthExceeded,
    UpstreamAuth,
    UpstreamOverloaded,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamTimeout,
)
from skyrelay.runtime.providers import client
from tests.simulator.conftest import GENEROUS, PROVIDERS, REQ, SHORT, arun, upstream_for

BEFORE_FIRST_DELTA = [
    ("x-fault-429-2", UpstreamRateLimited, 2.0),
    ("x-fault-429-no-retry-after", UpstreamRateLimited, None),
    ("x-fault-500", UpstreamServerError, None),
    ("x-fault-503", UpstreamOverloaded, None),
    ("x-fault-401", UpstreamAuth, None),
    ("x-fault-reset", UpstreamServerError, None),
    ("x-fault-hang", UpstreamTimeout, None),
    ("x-fault-slow-first-token-1000", UpstreamTimeout, None),
    ("x-fault-context-length", ContextLengthExceeded, None),
    ("x-fault-content-filter", ContentFiltered, None),
]


async def _errors_of(*calls) -> list[Exception]:
    """Awaits each call in turn; the exceptions they raised (a call that succeeds adds nothing)."""
    errors = []
    for call in calls:
        try:
            await call
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
    return errors


async def _finishes(up, times: int, error: type[Exception], label: str) -> list[str]:
    """Completes `times` in a row: each call's finish reason, or `label` where it raised `error`."""
    out = []
    for _ in range(times):
        try:
            out.append((await client.complete(up, REQ, timeout=2)).finish_reason)
        except error:
            out.append(label)
    return out


def _fault_of(model: str) -> str:
    name = model.removeprefix("x-fault-")
    return name.rsplit("-", 1)[0] if name[-1].isdigit() and name != "429" else name


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("model", "cls", "retry_after"), BEFORE_FIRST_DELTA, ids=lambda v: str(v))
def test_faults_before_first_delta(sim, provider, model, cls, retry_after):
    up = upstream_for(provider, model, sim.base_url)
    limit = SHORT if cls is UpstreamTimeout else GENEROUS

    errors = arun(_errors_of(client.complete(up, REQ, timeout=limit),
                             client.open_stream(up, REQ, ttft_timeout=limit, idle_timeout=GENEROUS)))
    assert [type(e) for e in errors] == [cls, cls], errors
    if cls is UpstreamRateLimited:
        assert [e.retry_after for e in errors] == [retry_after, retry_after]
    assert sim.calls(model) == {"total": 2, _fault_of(model): 2}


MID_STREAM = [
    ("x-fault-cut-2", UpstreamServerError, 2),
    ("x-fault-stall-2", UpstreamTimeout, 2),
    ("x-fault-malformed-1", UpstreamServerError, 1),
    ("x-fault-no-end", UpstreamServerError, 12),
]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("model", "cls", "texts"), MID_STREAM, ids=lambda v: str(v))
def test_faults_after_first_delta(sim, provider, model, cls, texts):
    up = upstream_for(provider, model, sim.base_url)

    idle = SHORT if cls is UpstreamTimeout else GENEROUS

    async def run():
        stream = await client.open_stream(up, REQ, ttft_timeout=GENEROUS, idle_timeout=idle)  # must not raise
        got = []
        with pytest.raises(cls):
            async for delta in stream:
                got.append(delta)
        errors = await _errors_of(client.complete(up, REQ, timeout=SHORT))
        return got, errors[0] if errors else None

    got, sync_error = arun(run())
    assert len([d for d in got if d.text]) == texts
    assert all(d.usage is None for d in got)  # no usage was ever reported for a broken stream
    assert isinstance(sync_error, UpstreamServerError | UpstreamTimeout)
    assert sim.calls(model)["total"] == 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_slow_first_token_within_ttft_succeeds(sim, provider):
    up = upstream_for(provider, "x-fault-slow-first-token-150", sim.base_url)

    async def run():
        started = time.monotonic()
        stream = await client.open_stream(up, REQ, ttft_timeout=2, idle_timeout=2)
        waited = time.monotonic() - started
        return waited, [d async for d in stream]

    waited, deltas = arun(run())
    assert waited >= 0.15 and deltas[-1].finish_reason == "stop"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_down_for_duration_then_recovers(sim, provider):
    sim.set_fault("primary", "down", duration_s=0.4)
    up = upstream_for(provider, "primary", sim.base_url)

    async def run():
        outcomes = await _finishes(up, 2, UpstreamOverloaded, "down")
        time.sleep(0.45)
        await client.complete(up, REQ, timeout=2)
        outcomes.append("ok")
        return outcomes

    assert arun(run()) == ["down", "down", "ok"]
    assert sim.calls("primary") == {"total": 3, "down": 2, "ok": 1}


def test_fault_for_a_number_of_calls(sim):
    sim.set_fault("flaky", "500", count=2)
    up = upstream_for("azure_openai", "flaky", sim.base_url)

    assert arun(_finishes(up, 3, UpstreamServerError, "500")) == ["500", "500", "stop"]
    assert sim.calls("flaky") == {"total": 3, "500": 2, "ok": 1}


def test_control_fault_params_and_stream(sim):
    sim.set_fault("limited", "429", retry_after=7)
    up = upstream_for("vertex", "limited", sim.base_url)

    async def run():
        with pytest.raises(UpstreamRateLimited) as info:
            await client.open_stream(up, REQ, ttft_timeout=2, idle_timeout=2)
        return info.value.retry_after

    assert arun(run()) == 7.0
    sim.set_fault("limited", None)
    assert arun(client.complete(up, REQ, timeout=2)).finish_reason == "stop"


def test_connection_refused_is_retryable_server_error():
    up = upstream_for("openai_compat", "m", "http://127.0.0.1:9")  # discard port: nothing listens

    errors = arun(_errors_of(client.complete(up, REQ, timeout=2),
                             client.open_stream(up, REQ, ttft_timeout=2, idle_timeout=2).open()))
    assert [type(e) for e in errors] == [UpstreamServerError, UpstreamServerError]
    assert all(e.retryable for e in errors)
