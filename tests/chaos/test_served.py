"""Streams and failover through `skyrelay serve` (its own process) with the shipped config
(examples/local.yaml: breaker threshold 5, open 30 s; ttft 10 s; attempt 30 s), the official openai
client and the provider simulator. Call counts come from the simulator's GET /_sim/calls."""

import json
import socket
import struct
import time
import urllib.request

import openai
import pytest

from skyrelay.runtime.canonical import Message, Usage
from skyrelay.runtime.config import parse_config
from skyrelay.runtime.router.cost import cost_of
from skyrelay.runtime.router.limits import estimate_prompt
from skyrelay.runtime.router.routed_stream import estimate_output
from skyrelay.runtime.simulator.launch import SimControl, start_in_thread
from tests.servekit import Serve, example_config

PRIMARY, SECONDARY = "anthropic.claude-3-haiku-20240307-v1:0", "gpt-4o-mini"  # model `fast`: fast-bedrock, fast-openai
MESSAGES = [{"role": "user", "content": "one two three"}]
METRICS_KEY = "sk-demo-metrics"  # where examples/local.yaml guards /metrics with a token (api.metrics_keys)


@pytest.fixture(scope="module")
def sim():
    url, stop = start_in_thread()
    yield SimControl(url)
    stop()


@pytest.fixture
def served(sim, tmp_path):
    sim.reset()
    with Serve(tmp_path, example_config(tmp_path, sim.base_url, jobs=None)) as server:  # no job workers
        server.sim = sim
        server.config = example_config(tmp_path, sim.base_url, jobs=None)
        yield server


def metrics(server) -> str:
    req = urllib.request.Request(server.url + "/metrics", headers={"authorization": f"Bearer {METRICS_KEY}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read().decode()


def metric(text: str, name: str, **labels) -> float:
    """The value of one Prometheus sample (0.0 when the series does not exist)."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        got = dict(part.split("=", 1) for part in line[len(name) + 1:line.index("}")].split(",") if part)
        if all(got.get(k) == f'"{v}"' for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


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
    text = metrics(served)
    assert metric(text, "skyrelay_upstream_attempts_total", deployment="fast-bedrock", outcome="ok") == 0
    assert metric(text, "skyrelay_upstream_attempts_total", deployment="fast-bedrock",
                  outcome="upstream_server_error") == threshold
    assert metric(text, "skyrelay_upstream_attempts_total", deployment="fast-openai", outcome="ok") == 3
    assert metric(text, "skyrelay_breaker_state", deployment="fast-bedrock") == 2  # open


def free(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="sk-demo-free", max_retries=0, timeout=60)


def until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, what
        time.sleep(0.02)
    return value


def leave_with_close(server, chunks: int) -> str:
    """Reads `chunks` content chunks with the openai client, then closes the connection."""
    stream = free(server).chat.completions.create(model="fast", messages=MESSAGES, stream=True)
    got = []
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            got.append(chunk.choices[0].delta.content)
            if len(got) == chunks:
                break
    stream.close()
    return "".join(got)


def leave_with_reset(server, chunks: int) -> str:
    """The same over a raw socket that leaves with a TCP reset (SO_LINGER 0)."""
    body = json.dumps({"model": "fast", "stream": True, "messages": MESSAGES}).encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-demo-free\r\n"
                 b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
    buf, got = b"", []
    while len(got) < chunks:
        data = sock.recv(65536)
        assert data, "the server closed the stream"
        buf += data
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            payload = event[event.find(b"data: ") + 6:]
            if payload.startswith(b"{"):
                delta = json.loads(payload)["choices"][0]["delta"]
                if delta.get("content"):
                    got.append(delta["content"])
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    return "".join(got[:chunks])


@pytest.mark.parametrize("leave", [leave_with_close, leave_with_reset], ids=["close", "reset"])
def test_a_client_leaving_mid_stream_frees_its_slot_stops_the_upstream_and_pays_what_it_got(served, leave):
    sim = served.sim
    sim.configure(tokens=40, chunk_ms=250)  # a 10 s upstream stream
    got = leave(served, 3)
    assert len(got.split()) == 3
    # The router closes the upstream connection: the simulator sees it long before the stream's end.
    until(lambda: sim.client_closed(PRIMARY) == 1, 5, "the upstream kept streaming")
    # Billed: what was relayed (no usage came from the provider: the estimate of the text received).
    text = until(lambda: next((t for t in [metrics(served)] if "skyrelay_cost_total{" in t), None), 5,
                 "nothing billed")
    billed = Usage(input_tokens=estimate_prompt([Message("user", MESSAGES[0]["content"])]),
                   output_tokens=estimate_output(len(got)))
    labels = {"tenant": "demo-free", "deployment": "fast-bedrock", "model": "fast"}
    assert metric(text, "skyrelay_tokens_total", kind="output", **labels) == billed.output_tokens < 40
    assert metric(text, "skyrelay_tokens_total", kind="input", **labels) == billed.input_tokens
    price = parse_config(served.config).deployment("fast-bedrock").price
    assert metric(text, "skyrelay_cost_total", **labels) == pytest.approx(cost_of(billed, price))
    assert metric(text, "skyrelay_upstream_attempts_total", deployment="fast-bedrock", outcome="client_closed") == 1
    # The Free tier's one stream slot is free again at once.
    sim.configure(tokens=2, chunk_ms=0)
    deployment, again = stream_text(free(served))
    assert deployment == "fast-bedrock" and len(again.split()) == 2


def test_upstream_errors_answer_a_stable_code_and_log_the_details_under_a_request_id(served):
    internal = ("Error", "aiohttp", "fast-bedrock", "fast-openai", "reset by peer")  # exception names, deployments
    # A stream cut after its first chunk: the SSE error event.
    served.sim.set_fault(PRIMARY, "cut", after_chunks=1)
    with pytest.raises(openai.APIError) as cut:
        stream_text(pro(served))
    event = cut.value.body
    assert event["code"] == "upstream_server_error" and event["request_id"].startswith("req_")
    assert not any(word in event["message"] for word in internal), event
    # Every deployment resets the connection: the JSON error.
    served.sim.set_fault(PRIMARY, "reset")
    served.sim.set_fault(SECONDARY, "reset")
    with pytest.raises(openai.APIStatusError) as failed:
        pro(served).chat.completions.create(model="fast", messages=MESSAGES, extra_headers={"x-skyrelay-cache": "off"})
    assert failed.value.status_code == 502
    error = failed.value.body.get("error", failed.value.body)
    assert error["code"] == "upstream_server_error" and error["request_id"].startswith("req_")
    assert not any(word in error["message"] for word in internal), error
    # The details are in the server's log, under each request id.
    log = until(lambda: (lambda t: t if error["request_id"] in t else None)(served.output()), 5, "not logged")
    for rid in (event["request_id"], error["request_id"]):
        line = next(line for line in log.splitlines() if rid in line)
        assert "upstream_server_error" in line and "Error" in line, line  # e.g. ClientPayloadError, ServerDisconnectedError


def answer(client, stream: bool) -> str:
    """The deployment that served one completion (non-streamed: the cache is skipped)."""
    if stream:
        return stream_text(client)[0]
    raw = client.chat.completions.with_raw_response.create(model="fast", messages=MESSAGES,
                                                           extra_headers={"x-skyrelay-cache": "off"})
    assert raw.parse().choices[0].message.content
    return raw.headers["x-skyrelay-deployment"]


def test_a_hung_primary_is_taken_over_in_under_10_s_then_skipped_once_its_breaker_opens(served):
    """examples/local.yaml ships attempt_s 30 and ttft_s 10: neither may be what a request waits."""
    served.sim.set_fault(PRIMARY, "hang")
    client = pro(served)
    for stream in (False, True):
        t0 = time.monotonic()
        assert answer(client, stream) == "fast-openai"
        assert time.monotonic() - t0 < 10, f"stream={stream}: first failover answer after {time.monotonic() - t0:.1f} s"
    for _ in range(2):  # every request in the meantime is served by the secondary too
        assert [answer(client, stream) for stream in (False, True)] == ["fast-openai"] * 2
    # The hung attempts reach their own TTFT deadline in the background: 6 failures open the breaker (5).
    until(lambda: metric(metrics(served), "skyrelay_breaker_state", deployment="fast-bedrock") == 2, 30,
          "the breaker of the hung primary never opened")
    hung = served.sim.total(PRIMARY)
    assert hung == 6
    assert [answer(client, stream) for stream in (False, True)] == ["fast-openai"] * 2
    assert served.sim.total(PRIMARY) == hung  # the open breaker skips the primary: no call, no wait
