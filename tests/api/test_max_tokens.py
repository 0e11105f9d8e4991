"""Defect 2 of issue 9: the tier's max_tokens cap bounds every request that leaves the router, also
when the client omits max_tokens, through `skyrelay serve` (chat, stream, jobs and the job worker)."""

import time

import openai
import pytest

from tests.servekit import FREE, Serve, example_config, http

MSG = [{"role": "user", "content": "count"}]
FREE_CAP = 1024


@pytest.fixture
def serve(tmp_path, sim):
    sim.configure(tokens=3000)  # the simulator would answer 3,000 tokens unless the request caps them
    with Serve(tmp_path, example_config(tmp_path, sim.base_url, cache={"enabled": False})) as srv:
        yield srv


def _wait_job(url: str, job_id: str, key: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        _, _, job = http("GET", f"{url}/v1/jobs/{job_id}", headers={"authorization": f"Bearer {key}"})
        if job["status"] in ("COMPLETE", "FAILED"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_omitted_max_tokens_is_capped_on_chat_stream_and_jobs(serve, sim):
    client = openai.OpenAI(base_url=serve.url + "/v1", api_key=FREE, max_retries=0)
    done = client.chat.completions.create(model="fast", messages=MSG)
    assert done.usage.completion_tokens == FREE_CAP and done.choices[0].finish_reason == "length"
    chunks = list(client.chat.completions.create(model="fast", messages=MSG, stream=True,
                                                 stream_options={"include_usage": True}))
    assert chunks[-1].usage.completion_tokens == FREE_CAP
    # max_completion_tokens null is "not given": the cap still applies
    null = client.chat.completions.create(model="fast", messages=MSG, extra_body={"max_completion_tokens": None})
    assert null.usage.completion_tokens == FREE_CAP
    status, _, sub = http("POST", serve.url + "/v1/jobs", {"model": "fast", "prompt": "count"},
                          {"authorization": f"Bearer {FREE}"})
    assert status == 202, sub
    job = _wait_job(serve.url, sub["id"], FREE)
    assert job["status"] == "COMPLETE" and job["usage"]["output_tokens"] == FREE_CAP, job


def test_over_cap_is_refused_naming_the_field_sent_before_any_upstream_or_limiter_call(serve, sim):
    client = openai.OpenAI(base_url=serve.url + "/v1", api_key=FREE, max_retries=0)
    first = client.chat.completions.with_raw_response.create(model="fast", messages=MSG, max_tokens=5)
    left = int(first.headers["x-ratelimit-remaining-requests"])
    calls = sim.calls()["total"]
    cases = [({"max_completion_tokens": None, "max_tokens": 5000}, "max_tokens"),
             ({"max_completion_tokens": 5000}, "max_completion_tokens"),
             ({"max_tokens": 1025}, "max_tokens")]
    for extra, field in cases:
        with pytest.raises(openai.BadRequestError) as err:
            client.chat.completions.create(model="fast", messages=MSG, extra_body=extra)
        assert err.value.body["code"] == "max_tokens_over_cap", err.value.body
        assert err.value.body["message"].startswith(f"{field} "), err.value.body
        with pytest.raises(openai.BadRequestError) as err:
            client.chat.completions.create(model="fast", messages=MSG, stream=True, extra_body=extra)
        assert err.value.body["code"] == "max_tokens_over_cap"
        status, _, doc = http("POST", serve.url + "/v1/jobs", {"model": "fast", "prompt": "x", **extra},
                              {"authorization": f"Bearer {FREE}"})
        assert (status, doc["error"]["code"]) == (400, "max_tokens_over_cap"), doc
        assert doc["error"]["message"].startswith(f"{field} ")
    assert sim.calls()["total"] == calls  # no upstream call
    again = client.chat.completions.with_raw_response.create(model="fast", messages=MSG, max_tokens=5)
    assert int(again.headers["x-ratelimit-remaining-requests"]) == left - 1  # nor a limiter token spent


def test_integer_valued_floats_are_accepted_and_fractions_refused_by_their_name(serve, sim):
    client = openai.OpenAI(base_url=serve.url + "/v1", api_key=FREE, max_retries=0)
    done = client.chat.completions.create(model="fast", messages=MSG, extra_body={"max_tokens": 663.0})
    assert done.usage.completion_tokens == 663
    done = client.chat.completions.create(model="fast", messages=MSG, extra_body={"max_completion_tokens": 7.0})
    assert done.usage.completion_tokens == 7
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="fast", messages=MSG, extra_body={"max_completion_tokens": 6.5})
    assert err.value.body["code"] == "validation_error"
    assert err.value.body["message"].startswith("max_completion_tokens:")
