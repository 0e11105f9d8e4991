"""One test per simulator fault, through the real provider client and the simulator's wire formats.

Each asserts what the client sees and how many calls each upstream got (from GET /_sim/calls).
Breaker windows are short in this config (0.5 s) instead of the production 30 s.
"""

import asyncio
import json
import time
import urllib.request

import openai
import pytest

from skyrelay.runtime.api.app import create_app
from skyrelay.runtime.config import parse_config
from skyrelay.runtime.errors import ContentFiltered, UpstreamServerError
from skyrelay.runtime.router.router import Router
from tests.routerkit import PRO_KEY, ServerThread, config_dict


@pytest.fixture(scope="module")
def sim():
    from skyrelay.runtime.simulator.launch import start_in_thread

    url, stop = start_in_thread()
    yield url
    stop()


def _ctl(sim, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(sim + path, data=data, method="POST" if data is not None or path.endswith("reset")
                                 else "GET", headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"{}")


def fault(sim, model, name, **kw):
    _ctl(sim, "/_sim/faults", {"model": model, "fault": name, **kw})


def calls(sim) -> dict[str, int]:
    return {m: c["total"] for m, c in _ctl(sim, "/_sim/calls")["models"].items()}


@pytest.fixture
def env(sim):
    _ctl(sim, "/_sim/reset", {})
    raw = config_dict(cache={"enabled": False})
    providers = {"a": "bedrock", "b": "openai_compat", "c": "azure_openai", "d": "vertex"}
    for d in raw["deployments"]:
        d.update(endpoint=sim, auth="none", provider=providers[d["name"]], upstream_model=f"m-{d['name']}",
                 api_version="2024-10-21", project="p", location="us-central1", region="us-east-1")
    cfg = parse_config(raw)
    return sim, cfg


def run(router, model="fast", n=1, stream=False):
    from tests.routerkit import req

    async def go():
        from skyrelay.runtime.providers.client import close_all

        try:
            return await body()
        finally:
            await close_all()

    async def body():
        outs = []
        for _ in range(n):
            if stream:
                rs = await router.stream(req(model, stream=True), "pro")
                text = ""
                async for d in rs:
                    text += d.text
                outs.append((rs.deployment, text))
            else:
                outs.append((await router.complete(req(model), "pro")).deployment)
        return outs

    return asyncio.run(go())


@pytest.mark.parametrize("name", ["500", "503", "reset", "hang", "429-no-retry-after", "401"])
def test_failover_on_upstream_failure(env, name):
    sim, cfg = env
    fault(sim, "m-a", name)
    assert run(Router(cfg)) == ["b"]
    assert calls(sim) == {"m-a": 1, "m-b": 1}


def test_429_retry_after_is_honoured(env):
    sim, cfg = env
    fault(sim, "m-a", "429", params={"retry_after": 1})
    r = Router(cfg)
    assert run(r, n=3) == ["b", "b", "b"]
    assert calls(sim) == {"m-a": 1, "m-b": 3}  # a rested for its Retry-After
    fault(sim, "m-a", None)
    time.sleep(1.05)
    assert run(r) == ["a"]


def test_content_filter_is_not_retried(env):
    sim, cfg = env
    fault(sim, "m-a", "content-filter")
    with pytest.raises(ContentFiltered):
        run(Router(cfg))
    assert calls(sim) == {"m-a": 1}


def test_context_length_falls_back_to_larger_window(env):
    sim, cfg = env
    fault(sim, "m-c", "context-length")
    assert run(Router(cfg), model="big") == ["d"]
    assert calls(sim) == {"m-c": 1, "m-d": 1}


@pytest.mark.parametrize("name", ["slow-first-token", "hang", "503", "reset"])
def test_stream_fails_over_before_first_chunk(env, name):
    sim, cfg = env
    fault(sim, "m-a", name, params={"delay_ms": 2000} if name == "slow-first-token" else None)
    [(dep, text)] = run(Router(cfg), stream=True)
    assert dep == "b" and text
    assert calls(sim) == {"m-a": 1, "m-b": 1}


@pytest.mark.parametrize("name", ["cut", "stall", "malformed", "no-end"])
def test_stream_never_splices_after_first_byte(env, name):
    sim, cfg = env
    fault(sim, "m-a", name)
    with ServerThread(create_app(cfg, Router(cfg))) as server:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key=PRO_KEY, max_retries=0)
        got = []
        with pytest.raises(openai.APIError):
            for chunk in client.chat.completions.create(model="fast", stream=True,
                                                        messages=[{"role": "user", "content": "hi"}]):
                got.append(chunk)
        # Raw check: the body ends with an SSE error event and no [DONE].
        req = urllib.request.Request(server.url + "/v1/chat/completions", method="POST", data=json.dumps(
            {"model": "fast", "stream": True, "messages": [{"role": "user", "content": "hi"}]}).encode(),
            headers={"authorization": f"Bearer {PRO_KEY}", "content-type": "application/json"})
        with urllib.request.urlopen(req) as r:
            body = r.read().decode()
    assert got  # the client did receive the first chunk(s) before the error
    assert "event: error" in body and "[DONE]" not in body
    assert calls(sim) == {"m-a": 2}  # never spliced onto b


def test_primary_down_then_recovers(env):
    sim, cfg = env
    fault(sim, "m-a", "down", duration_s=1.0)
    r = Router(cfg)
    t0 = time.monotonic()
    first = run(r)
    assert first == ["b"] and time.monotonic() - t0 < 1.0  # secondary within 1 s of the first failure
    assert run(r, n=5) == ["b"] * 5
    assert calls(sim)["m-a"] == 3  # breaker (threshold 3) opened; a stopped getting traffic
    time.sleep(1.1)  # the primary is healthy again and the breaker window (0.5 s) has passed
    assert run(r, n=3) == ["a", "a", "a"]  # half-open probe succeeded, breaker closed


def test_breaker_half_open_probe_failure_reopens(env):
    sim, cfg = env
    fault(sim, "m-a", "500")
    r = Router(cfg)
    run(r, n=3)
    assert calls(sim)["m-a"] == 3
    time.sleep(0.55)
    assert run(r, n=3) == ["b"] * 3
    assert calls(sim)["m-a"] == 4  # exactly one probe, which failed: open again


def test_stream_cut_is_reported_as_an_error_by_the_router(env):
    sim, cfg = env
    fault(sim, "m-a", "cut", params={"after_chunks": 1})
    with pytest.raises(UpstreamServerError):
        run(Router(cfg), stream=True)
    assert calls(sim) == {"m-a": 1}
