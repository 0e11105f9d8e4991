"""Through `skyrelay serve` with the official openai client against the provider simulator:
- point 1: a sync chat whose max_tokens cannot finish within `api.sync_deadline_s` at the model's
  configured output speed is refused (400 `use_async_jobs`, pointing at /v1/jobs) before any upstream
  call, and the same request is accepted as a job;
- point 2: while every breaker of a model is open, the router answers its configured fallback,
  marked, and a plain upstream error before that still fails."""

import openai
import pytest

from tests.servekit import FREE, Serve, example_config, http

MSG = [{"role": "user", "content": "count"}]
FALLBACK = "The assistant is unavailable right now."


def test_sync_chat_over_the_deadline_is_refused_toward_jobs(tmp_path, sim):
    cfg = example_config(tmp_path, sim.base_url, api={"sync_deadline_s": 2, "default_max_tokens": 16},
                         cache={"enabled": False})
    for d in cfg["deployments"]:
        d["output_tokens_per_s"] = 10 if d["name"] == "fast-openai" else 50  # slowest of `fast`: 20 tokens in 2 s
    with Serve(tmp_path, cfg) as srv:
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key=FREE, max_retries=0)
        calls = sim.calls()["total"]
        with pytest.raises(openai.BadRequestError) as err:
            client.chat.completions.create(model="fast", messages=MSG, max_tokens=21)
        body = err.value.body
        assert body["code"] == "use_async_jobs", body
        assert "max_tokens 21 cannot finish within the gateway's 2 s" in body["message"]
        assert "at 10 tokens/s (at most 20); send it to POST /v1/jobs" in body["message"]
        with pytest.raises(openai.BadRequestError):  # streamed too: the gateway buffers and cuts it alike
            client.chat.completions.create(model="fast", messages=MSG, max_tokens=500, stream=True)
        assert sim.calls()["total"] == calls  # refused before any upstream call
        ok = client.chat.completions.create(model="fast", messages=MSG, max_tokens=20)
        assert ok.choices[0].message.content
        ok = client.chat.completions.create(model="fast", messages=MSG)  # the default (16) fits
        assert ok.usage.completion_tokens <= 16
        status, _, job = http("POST", srv.url + "/v1/jobs", {"model": "fast", "prompt": "count", "max_tokens": 500},
                              {"authorization": f"Bearer {FREE}"})
        assert status == 202, job


def test_fallback_answer_marked_while_every_breaker_is_open(tmp_path, sim):
    cfg = example_config(tmp_path, sim.base_url, cache={"enabled": False}, breaker={"failure_threshold": 2,
                                                                                     "open_s": 600},
                         retry={"attempts": 2, "base_s": 0}, hedge={"enabled": False})
    cfg["models"]["fast"]["fallback"] = {"text": FALLBACK}
    primary = next(d for d in cfg["deployments"] if d["name"] == "fast-bedrock")
    secondary = next(d for d in cfg["deployments"] if d["name"] == "fast-openai")
    with Serve(tmp_path, cfg) as srv:
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key=FREE, max_retries=0)
        sim.set_fault(primary["upstream_model"], "500")
        sim.set_fault(secondary["upstream_model"], "500")
        with pytest.raises(openai.APIStatusError) as err:  # an upstream error is reported while a breaker is closed
            client.chat.completions.create(model="fast", messages=MSG)
        assert err.value.status_code == 502
        assert sim.total(primary["upstream_model"]) >= 1 and sim.total(secondary["upstream_model"]) >= 1
        for _ in range(5):  # until both breakers have seen failure_threshold failures
            try:
                client.chat.completions.create(model="fast", messages=MSG)
            except openai.APIStatusError:
                continue
            break
        calls = sim.calls()["total"]
        raw = client.chat.completions.with_raw_response.create(model="fast", messages=MSG)
        answer = raw.parse()
        assert raw.headers["x-skyrelay-fallback"] == "breakers-open"
        assert raw.headers["x-skyrelay-deployment"] == "fallback"
        assert answer.choices[0].message.content == FALLBACK
        assert sim.calls()["total"] == calls  # no upstream was called for it
