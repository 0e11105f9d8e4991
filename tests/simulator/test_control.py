"""The `/_sim/` control API, header-chosen faults and per-request cadence overrides."""

import time
import urllib.error
import urllib.request

import orjson
import pytest

from skyrelay.runtime.simulator.faults import from_header, from_model


def _post(base, path, body, headers=None):
    req = urllib.request.Request(base + path, data=orjson.dumps(body), method="POST",
                                 headers={"content-type": "application/json", **(headers or {})})
    return urllib.request.urlopen(req, timeout=5)


def _chat(base, model="m", headers=None, stream=False):
    return _post(base, "/v1/chat/completions",
                 {"model": model, "messages": [{"role": "user", "content": "hi there"}], "stream": stream}, headers)


def test_fault_name_parsing():
    assert from_model("gpt-x-fault-429-no-retry-after").name == "429-no-retry-after"
    cut = from_model("x-fault-cut-5")
    assert (cut.name, cut.param()) == ("cut", 5.0)
    assert from_model("x-fault-429").param() == 1.0
    assert from_model("plain-model") is None and from_model("x-fault-nope") is None
    slow = from_header("slow-first-token:250")
    assert (slow.name, slow.param()) == ("slow-first-token", 250.0)
    assert from_header("bogus") is None


def test_header_fault_and_counts_by_outcome(sim):
    with pytest.raises(urllib.error.HTTPError) as info:
        _chat(sim.base_url, "dep", {"x-sim-fault": "503"})
    assert info.value.code == 503
    assert _chat(sim.base_url, "dep").status == 200
    snap = sim.calls()
    assert snap["models"]["dep"] == {"total": 2, "503": 1, "ok": 1}
    assert snap["providers"]["openai_compat"]["dep"] == 2 and snap["total"] == 2
    sim.reset()
    assert sim.calls() == {"total": 0, "models": {}, "providers": {}, "client_closed": {}}


def test_unknown_fault_is_rejected(sim):
    with pytest.raises(urllib.error.HTTPError) as info:
        sim.set_fault("m", "meteor-strike")
    assert info.value.code == 400


def test_config_and_per_request_overrides(sim):
    assert sim.configure(tokens=3)["tokens"] == 3
    body = orjson.loads(_chat(sim.base_url).read())
    assert body["usage"]["completion_tokens"] == 3
    body = orjson.loads(_chat(sim.base_url, headers={"x-sim-tokens": "5"}).read())
    assert body["usage"]["completion_tokens"] == 5
    started = time.monotonic()
    raw = _chat(sim.base_url, headers={"x-sim-chunk-ms": "40", "x-sim-chunks": "3"}, stream=True).read()
    assert time.monotonic() - started >= 0.08  # two gaps between three chunks
    assert raw.count(b'"content":"') == 4  # role chunk + three content chunks
    sim.reset()
    assert sim.configure()["tokens"] == 12  # reset restores the launch configuration


def test_context_window_setting_triggers_the_real_error(sim):
    sim.configure(context_window=1)
    with pytest.raises(urllib.error.HTTPError) as info:
        _chat(sim.base_url, "small")
    assert orjson.loads(info.value.read())["error"]["code"] == "context_length_exceeded"
    assert sim.calls("small") == {"total": 1, "context-length": 1}
