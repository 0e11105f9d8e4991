"""The HTTP surface: the official openai client (sync + stream) against the example config and the
simulator, and a bad-input matrix (schemathesis runs over the served document in test_fuzz.py)."""

import json
import urllib.error
import urllib.request
from pathlib import Path

import openai
import pytest
import yaml

from skyrelay.runtime.api.app import create_app
from skyrelay.runtime.config import parse_config
from skyrelay.runtime.router.router import Router
from tests.routerkit import FREE_KEY, PRO_KEY, FakeProvider, ServerThread, make_config, sha

ROOT = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "sk-test-metrics"


@pytest.fixture(scope="module")
def simulator():
    from skyrelay.runtime.simulator.launch import start_in_thread

    url, stop = start_in_thread()
    yield url
    stop()


@pytest.fixture(scope="module")
def example_server(simulator):
    raw = yaml.safe_load((ROOT / "examples" / "local.yaml").read_text())
    for d in raw["deployments"]:
        d["endpoint"] = simulator
    with ServerThread(create_app(parse_config(raw))) as s:
        yield s


@pytest.fixture(scope="module")
def fake_server():
    cfg = make_config(api={"max_body_bytes": 4096, "metrics_keys": [sha(METRICS_TOKEN)]})
    fake = FakeProvider()
    with ServerThread(create_app(cfg, Router(cfg, fake.call, fake.open_stream))) as s:
        s.fake = fake
        yield s


def test_openai_client_sync_and_stream_against_example_config(example_server):
    client = openai.OpenAI(base_url=example_server.url + "/v1", api_key="sk-demo-pro", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="quality", messages=[{"role": "user", "content": "Say hi"}], max_tokens=50,
        extra_headers={"x-skyrelay-cache": "off"})
    done = raw.parse()
    assert done.choices[0].message.content and done.usage.completion_tokens > 0
    assert float(raw.headers["x-skyrelay-overhead-ms"]) >= 0
    assert raw.headers["x-skyrelay-deployment"] == "quality-azure"
    chunks = list(client.chat.completions.create(
        model="fast", messages=[{"role": "user", "content": "Say hi"}], stream=True,
        stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text and chunks[-1].usage.completion_tokens > 0
    assert [m.id for m in client.models.list()] == ["fast", "quality"]
    free = openai.OpenAI(base_url=example_server.url + "/v1", api_key="sk-demo-free", max_retries=0)
    assert [m.id for m in free.models.list()] == ["fast"]
    with pytest.raises(openai.PermissionDeniedError):
        free.chat.completions.create(model="quality", messages=[{"role": "user", "content": "x"}])


def _post(url, body: bytes, headers=None, method="POST"):
    req = urllib.request.Request(url + "/v1/chat/completions", data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read()), r.headers
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), e.headers


AUTH = {"authorization": f"Bearer {PRO_KEY}", "content-type": "application/json"}
GOOD = {"model": "fast", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(("body", "headers", "status", "code"), [
    (b"{not json", AUTH, 400, "invalid_json"),
    (json.dumps({**GOOD, "max_tokens": "ten"}).encode(), AUTH, 400, "validation_error"),
    (json.dumps({**GOOD, "temperature": True}).encode(), AUTH, 400, "validation_error"),
    (json.dumps({**GOOD, "messages": []}).encode(), AUTH, 400, "validation_error"),
    (json.dumps({**GOOD, "messages": [{"role": "wizard", "content": "x"}]}).encode(), AUTH, 400, "validation_error"),
    (json.dumps([1, 2]).encode(), AUTH, 400, "validation_error"),
    (json.dumps({**GOOD, "model": "gpt-9"}).encode(), AUTH, 404, "model_not_found"),
    (json.dumps({**GOOD, "model": "big"}).encode(), {**AUTH, "authorization": f"Bearer {FREE_KEY}"}, 403,
     "model_not_allowed"),
    (json.dumps({**GOOD, "max_tokens": 10**6}).encode(), AUTH, 400, "max_tokens_over_cap"),
    (json.dumps({**GOOD, "messages": [{"role": "user", "content": "x" * 5000}]}).encode(), AUTH, 413,
     "payload_too_large"),
    (json.dumps(GOOD).encode(), {"content-type": "application/json"}, 401, "invalid_api_key"),
    (json.dumps(GOOD).encode(), {"authorization": "Bearer sk-wrong"}, 401, "invalid_api_key"),
    (json.dumps(GOOD).encode(), {"authorization": "Basic abc"}, 401, "invalid_api_key"),
])
def test_bad_input_is_4xx_with_stable_code_and_server_keeps_serving(fake_server, body, headers, status, code):
    before = sum(fake_server.fake.calls.values())
    got, doc, hdrs = _post(fake_server.url, body, headers)
    assert (got, doc["error"]["code"]) == (status, code)
    assert set(doc["error"]) == {"code", "message"} and "x-skyrelay-overhead-ms" in hdrs
    assert sum(fake_server.fake.calls.values()) == before  # rejected before any upstream call
    ok, doc, _ = _post(fake_server.url, json.dumps(GOOD).encode(), AUTH)
    assert ok == 200 and doc["object"] == "chat.completion"


def test_rate_limited_response_has_retry_after_and_headers(fake_server):
    hdr = {**AUTH, "authorization": f"Bearer {FREE_KEY}"}
    statuses = [_post(fake_server.url, json.dumps({**GOOD, "max_tokens": 5}).encode(), hdr) for _ in range(12)]
    limited = [s for s in statuses if s[0] == 429]
    assert limited, [s[0] for s in statuses]
    status, doc, h = limited[0]
    assert doc["error"]["code"] == "rate_limited" and int(h["retry-after"]) >= 1
    for name in ("limit-requests", "remaining-requests", "limit-tokens", "remaining-tokens"):
        assert h[f"x-ratelimit-{name}"].isdigit()


def test_metrics_healthz_and_openapi(fake_server):
    with urllib.request.urlopen(fake_server.url + "/healthz") as r:
        assert json.loads(r.read()) == {"status": "ok"}
    req = urllib.request.Request(fake_server.url + "/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(req) as r:
        text = r.read().decode()
    for name in ("skyrelay_request_seconds_bucket", "skyrelay_tokens_total", "skyrelay_upstream_attempts_total",
                 "skyrelay_limiter_rejections_total", "skyrelay_cost_total"):
        assert name in text, name
    with urllib.request.urlopen(fake_server.url + "/openapi.json") as r:
        doc = json.loads(r.read())
    from openapi_spec_validator import validate

    validate(doc)
    assert "/v1/chat/completions" in doc["paths"]
