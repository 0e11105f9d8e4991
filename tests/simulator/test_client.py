"""Our pooled client (`complete`, `open_stream`) against the simulator, for every provider."""

import pytest

from skyrelay.runtime.canonical import ChatRequest, Message, Usage
from skyrelay.runtime.providers import client
from tests.simulator.conftest import PROVIDERS, arun, upstream_for

REQ = ChatRequest("logical", [Message("system", "be kind"), Message("user", "red green blue")])


async def _collect(stream):
    deltas = [d async for d in stream]
    return "".join(d.text for d in deltas), deltas


@pytest.mark.parametrize("provider", PROVIDERS)
def test_complete_and_stream_agree(sim, provider):
    up = upstream_for(provider, f"{provider}-m1", sim.base_url)

    async def both():
        result = await client.complete(up, REQ, timeout=5)
        stream = await client.open_stream(up, REQ, ttft_timeout=5, idle_timeout=5)
        text, deltas = await _collect(stream)
        return result, text, deltas

    result, text, deltas = arun(both())
    expected = " ".join((["red", "green", "blue"] * 4)[:12])
    assert result.text == text == expected
    assert result.finish_reason == deltas[-1].finish_reason == "stop"
    # a streamed and a non-streamed call report the same usage (so they bill the same)
    assert result.usage == deltas[-1].usage == Usage(input_tokens=5, output_tokens=12)
    assert sum(1 for d in deltas if d.usage is not None) == 1
    assert sim.calls(f"{provider}-m1") == {"total": 2, "ok": 2}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_async_for_without_await_and_max_tokens(sim, provider):
    up = upstream_for(provider, "m2", sim.base_url)
    req = ChatRequest("l", [Message("user", "a b")], max_tokens=3)

    async def run():
        return await _collect(client.open_stream(up, req, ttft_timeout=5, idle_timeout=5))

    text, deltas = arun(run())
    assert text == "a b a" and deltas[-1].finish_reason == "length" and deltas[-1].usage.output_tokens == 3


def test_session_pool_is_reused_per_origin(sim):
    up = upstream_for("openai_compat", "pool", sim.base_url)

    async def run():
        await client.complete(up, REQ, timeout=5)
        first = client.session_for(sim.base_url + "/v1/chat/completions")
        await client.complete(upstream_for("azure_openai", "pool2", sim.base_url), REQ, timeout=5)
        second = client.session_for(sim.base_url + "/openai/x")
        return first, second, first.connector

    first, second, connector = arun(run())
    assert first is second
    assert connector.closed  # close_all ran at the end of arun


def test_bedrock_cache_point_write_then_read(sim):
    up = upstream_for("bedrock", "claude-cache", sim.base_url)
    req = ChatRequest("l", [Message("system", "long shared system prompt", cache_hint=True),
                            Message("user", "question here")])

    async def run():
        first = await client.complete(up, req, timeout=5)
        stream = await client.open_stream(up, req, ttft_timeout=5, idle_timeout=5)
        _, deltas = await _collect(stream)
        return first.usage, deltas[-1].usage

    first, second = arun(run())
    assert first == Usage(input_tokens=2, cache_write_tokens=4, output_tokens=12)
    assert second == Usage(input_tokens=2, cache_read_tokens=4, output_tokens=12)


def test_azure_automatic_cache_accounted_in_stream(sim):
    sim.configure(auto_cache_min_tokens=128)
    up = upstream_for("azure_openai", "dep-auto", sim.base_url)
    doc = " ".join(f"t{i}" for i in range(200))
    req = ChatRequest("l", [Message("system", doc), Message("user", "q")])

    async def run():
        await client.complete(up, req, timeout=5)
        _, deltas = await _collect(await client.open_stream(up, req, ttft_timeout=5, idle_timeout=5))
        return deltas[-1].usage

    usage = arun(run())
    assert usage == Usage(input_tokens=201 - 128, cache_read_tokens=128, output_tokens=12)


def test_vertex_cached_content(sim):
    sim.configure(vertex_cached_tokens=1000)
    up = upstream_for("vertex", "gemini-cache", sim.base_url, cached_content="projects/p/locations/l/cachedContents/c")
    req = ChatRequest("l", [Message("system", "in the cache", cache_hint=True), Message("user", "x y")])
    usage = arun(client.complete(up, req, timeout=5)).usage
    assert usage == Usage(input_tokens=2, cache_read_tokens=1000, output_tokens=12)


def test_sigv4_against_simulator(sim, monkeypatch):
    from botocore.credentials import Credentials

    from skyrelay.runtime.providers.bedrock import auth

    monkeypatch.setattr(auth.SIGNER, "_credentials", Credentials("AKIDSIM", "s"))
    up = upstream_for("bedrock", "anthropic.claude-3-haiku-20240307-v1:0", sim.base_url, auth="sigv4")
    assert arun(client.complete(up, REQ, timeout=5)).text.startswith("red green")
    assert sim.total("anthropic.claude-3-haiku-20240307-v1:0") == 1
