"""Streams and failover through `skyrelay serve` (its own process) with the shipped config
(examples/local.yaml: breaker threshold 5, open 30 s; ttft 10 s; attempt 30 s), the official openai
client and the provider simulator. Call counts come from the simulator's GET /_sim/calls."""

import openai
import pytest
from routerkit import ServeProcess, metric, shipped_config

from skyrelay.runtime.simulator.launch import SimControl, start_in_thread

PRIMARY, SECONDARY = "anthropic.claude-3-haiku-20240307-v1:0", "gpt-4o-mini"  # model `fast`: fast-bedrock, fast-openai
MESSAGES = [{"role": "user", "content": "one two three"}]


@pytest.fixture(scope="module")
def sim():
    url, stop = start_in_thread()
    yield SimControl(url)
    stop()


@pytest.fixture
def served(sim, tmp_path):
    sim.reset()
    with ServeProcess(shipped_config(sim.base_url), tmp_path) as server:
        server.sim = sim
        yield server


def pro(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="sk-demo-pro", max_retries=0, timeout=60)


def stream_text(client, **kw) -> tuple[str, str]:
    """(deployment, text) of one streamed completion; raises openai.APIError when it ends with an error event."""
    with client.chat.completions.with_streaming_response.create(model="fast", messages=MESSAGES, stream=True,
                                                                **kw) as resp:
        deployment = resp.headers["x-skyrelay-deployment"]
        text = "".join(chunk.choices[0].delta.content or "" for chunk in resp.parse() if chunk.choices)
    return deployment, text


def test_streams_cut_after_the_first_chunk_open_the_breaker_and_move_to_the_secondary(served):
    served.sim.set_fault(PRIMARY, "cut", after_chunks=1)
    client = pro(served)
    threshold = 5  # examples/local.yaml breaker.failure_threshold
    for _ in range(threshold):
        with pytest.raises(openai.APIError):
            stream_text(client)
    assert served.sim.total(PRIMARY) == threshold
    later = [stream_text(client) for _ in range(3)]
    assert all(dep == "fast-openai" and text for dep, text in later), later
    assert served.sim.total(PRIMARY) == threshold  # the breaker is open: the primary got nothing more
    assert served.sim.total(SECONDARY) == 3
    text = served.metrics()
    assert metric(text, "skyrelay_upstream_attempts_total", deployment="fast-bedrock", outcome="ok") == 0
    assert metric(text, "skyrelay_upstream_attempts_total", deployment="fast-bedrock",
                  outcome="upstream_server_error") == threshold
    assert metric(text, "skyrelay_upstream_attempts_total", deployment="fast-openai", outcome="ok") == 3
    assert metric(text, "skyrelay_breaker_state", deployment="fast-bedrock") == 2  # open
