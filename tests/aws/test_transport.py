"""The Lambda worker's light transport (stdlib http.client) against the provider simulator: for
every provider, success and each fault give the same canonical result or error as the aiohttp
provider client (`client.complete`), which the rest of the runtime uses."""

import asyncio

import pytest

from skyrelay.runtime.errors import (
    ContentFiltered,
    ContextLengthExceeded,
    UpstreamOverloaded,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamTimeout,
)
from skyrelay.runtime.platforms.aws_lambda import transport
from skyrelay.runtime.providers import client
from tests.simulator.conftest import (  # the `simulator` fixture comes from tests/conftest.py
    GENEROUS,
    PROVIDERS,
    REQ,
    SHORT,
    upstream_for,
)

CASES = [
    ("ok", None, None),
    ("x-fault-429-2", UpstreamRateLimited, 2.0),
    ("x-fault-429-no-retry-after", UpstreamRateLimited, None),
    ("x-fault-500", UpstreamServerError, None),
    ("x-fault-503", UpstreamOverloaded, None),
    ("x-fault-reset", UpstreamServerError, None),
    ("x-fault-hang", UpstreamTimeout, None),
    ("x-fault-context-length", ContextLengthExceeded, None),
    ("x-fault-content-filter", ContentFiltered, None),
]
TRANSPORTS = {"aiohttp": client.complete, "http.client": transport.call}


def outcome(call, up, timeout=SHORT):
    """What one call gives: ("ok", result) or ("error", class, retryable, retry_after)."""

    async def main():
        try:
            return ("ok", await call(up, REQ, timeout))
        except Exception as exc:  # noqa: BLE001 - compared below
            return ("error", type(exc), exc.retryable, getattr(exc, "retry_after", None))
        finally:
            await client.close_all()

    return asyncio.run(main())


@pytest.fixture
def sim(simulator):  # over the one in tests/conftest.py: also closes the transport's connections
    simulator.reset()
    yield simulator
    transport.close_all()


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("model", "cls", "retry_after"), CASES, ids=lambda v: str(v))
def test_same_result_or_error_as_the_provider_client(sim, provider, model, cls, retry_after):
    up = upstream_for(provider, model, sim.base_url)
    got = {name: outcome(call, up, timeout=SHORT if cls is UpstreamTimeout else GENEROUS) for name, call in TRANSPORTS.items()}

    assert got["http.client"] == got["aiohttp"]
    if cls is None:
        assert got["http.client"][0] == "ok" and got["http.client"][1].text
    else:
        assert got["http.client"][:2] == ("error", cls), got
        if cls is UpstreamRateLimited:
            assert got["http.client"][3] == retry_after
    assert sim.calls(model)["total"] == 2  # one upstream call each: nothing re-sent


@pytest.mark.parametrize("name", TRANSPORTS)
def test_connection_refused_is_a_retryable_server_error(name):
    up = upstream_for("openai_compat", "m", "http://127.0.0.1:9")  # discard port: nothing listens
    assert outcome(TRANSPORTS[name], up, timeout=2) == ("error", UpstreamServerError, True, None)


def test_keeps_the_connection_alive_and_survives_a_peer_close(sim):
    up = upstream_for("openai_compat", "ok", sim.base_url)

    async def three_calls():
        first = await transport.call(up, REQ, 2)
        pool = transport._idle[("http", sim.base_url.removeprefix("http://"))]
        conn = pool[0]
        await transport.call(up, REQ, 2)
        reused = pool == [conn]
        conn.sock.shutdown(2)  # as if the peer had closed the idle connection (Lambda froze meanwhile)
        third = await transport.call(up, REQ, 2)
        return first, reused, third

    first, reused, third = asyncio.run(three_calls())
    assert reused and first.text == third.text
    assert sim.calls("ok")["total"] == 3


def test_streams_go_through_the_provider_client(sim):
    up = upstream_for("vertex", "ok", sim.base_url)

    async def main():
        try:
            return [d async for d in await transport.open_stream(up, REQ, 2, 2)]
        finally:
            await client.close_all()

    deltas = asyncio.run(main())
    assert deltas[-1].finish_reason == "stop"
