"""The Lambda worker's light transport (stdlib http.client) against the provider simulator: for
every provider, success and each fault give the same canonical result or error as the aiohttp
provider client (`client.complete`, `client.open_stream`), which the rest of the runtime uses."""

import asyncio
import time

import pytest

from skyrelay.runtime.errors import (
    ContentFiltered,
    ContextLengthExceeded,
    UpstreamOverloaded,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamTimeout,
)
from skyrelay.runtime.providers import client
from skyrelay.runtime.providers import stdlib_client as transport
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


STREAM_CASES = [  # (model, error class, content deltas before it)
    ("ok", None, 12),
    ("x-fault-429-2", UpstreamRateLimited, 0),
    ("x-fault-500", UpstreamServerError, 0),
    ("x-fault-503", UpstreamOverloaded, 0),
    ("x-fault-reset", UpstreamServerError, 0),
    ("x-fault-hang", UpstreamTimeout, 0),
    ("x-fault-slow-first-token-1000", UpstreamTimeout, 0),
    ("x-fault-context-length", ContextLengthExceeded, 0),
    ("x-fault-content-filter", ContentFiltered, 0),
    ("x-fault-cut-2", UpstreamServerError, 2),
    ("x-fault-stall-2", UpstreamTimeout, 2),
    ("x-fault-malformed-1", UpstreamServerError, 1),
    ("x-fault-no-end", UpstreamServerError, 12),
]
STREAMS = {"aiohttp": client.open_stream, "http.client": transport.open_stream}


def stream_outcome(open_stream, up, ttft, idle, read):
    """What one stream gives: (texts before the end, finish, usage, error class or None, where it was raised).
    `read`: "iterate" (a streamed request) or "rest" (the rest at once, as a non-streamed answer is read)."""

    async def main():
        texts, finish, usage, stage = [], None, None, "open"
        try:
            stream = await open_stream(up, REQ, ttft, idle)
            stage = read

            async def deltas():
                if read == "rest":
                    yield await anext(stream)
                    for delta in await stream.rest(GENEROUS):
                        yield delta
                else:
                    async for delta in stream:
                        yield delta

            async for delta in deltas():
                texts.append(delta.text)
                finish, usage = delta.finish_reason or finish, delta.usage or usage
            return texts, finish, usage, None, None
        except Exception as exc:  # noqa: BLE001 - compared below
            return texts, finish, usage, type(exc), stage
        finally:
            await client.close_all()

    return asyncio.run(main())


@pytest.mark.parametrize("read", ["iterate", "rest"])
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("model", "cls", "texts"), STREAM_CASES, ids=lambda v: str(v))
def test_same_stream_or_error_as_the_provider_client(sim, provider, model, cls, texts, read):
    up = upstream_for(provider, model, sim.base_url)
    ttft = SHORT if model in ("x-fault-hang", "x-fault-slow-first-token-1000") else GENEROUS
    idle = SHORT if model == "x-fault-stall-2" else GENEROUS
    got = {name: stream_outcome(open_stream, up, ttft, idle, read) for name, open_stream in STREAMS.items()}

    assert got["http.client"] == got["aiohttp"]
    got_texts, finish, usage, error, stage = got["http.client"]
    assert error is cls
    if cls is None:
        assert finish == "stop" and usage.output_tokens == 12 and len([t for t in got_texts if t]) == texts
    else:  # errors before the first delta surface when the stream is opened, so the router can fail over
        assert stage == ("open" if texts == 0 else read)
        # iterating delivers the text before a mid-stream error; reading the rest at once gives only the error
        assert len([t for t in got_texts if t]) == (texts if read == "iterate" else min(texts, 1))
    assert sim.calls(model)["total"] == 2  # one upstream call each: nothing re-sent


def test_a_stream_read_to_its_end_gives_its_connection_back(sim):
    up = upstream_for("openai_compat", "ok", sim.base_url)

    async def two_streams():
        first = [d async for d in await transport.open_stream(up, REQ, 2, 2)]
        pool = transport._idle[("http", sim.base_url.removeprefix("http://"))]
        conn = pool[0]
        second = [d async for d in await transport.open_stream(up, REQ, 2, 2)]
        return first, second, pool == [conn]

    first, second, reused = asyncio.run(two_streams())
    assert reused and [d.text for d in first] == [d.text for d in second]
    assert sim.calls("ok")["total"] == 2


def test_a_stream_closed_early_closes_its_connection_at_once(sim):
    sim.configure(chunk_ms=200)  # a 2.4 s stream
    up = upstream_for("openai_compat", "slow", sim.base_url)

    async def leave():
        stream = await transport.open_stream(up, REQ, 5, 5)
        first = await anext(stream)
        started = time.monotonic()
        await stream.aclose()
        for _ in range(100):
            if sim.client_closed("slow"):
                break
            await asyncio.sleep(0.02)
        return first, time.monotonic() - started

    first, took = asyncio.run(leave())
    assert first.text and sim.client_closed("slow") == 1 and took < 2  # well before the stream's end


@pytest.mark.parametrize("name", STREAMS)
def test_the_rest_of_a_stream_is_bounded_as_a_whole(sim, name):
    sim.configure(chunk_ms=100)  # 1.2 s of chunks, each gap well within the idle timeout
    up = upstream_for("openai_compat", "long", sim.base_url)

    async def main():
        stream = await STREAMS[name](up, REQ, GENEROUS, GENEROUS)
        await anext(stream)
        started = time.monotonic()
        try:
            await stream.rest(SHORT)
        except UpstreamTimeout:
            return time.monotonic() - started
        finally:
            await client.close_all()

    took = asyncio.run(main())
    assert took is not None and took < 1.0  # the whole budget, not the idle timeout, ended it
