"""Point 3 through `skyrelay serve` and the openai client against the simulator's Bedrock Converse:
the router adds a cachePoint after a system prefix past 1,024 tokens by itself, the usage reports
the cache write and then the cache read, and the cost applies the cache prices."""

import copy

import openai

from skyrelay.check import Status, p3_caching, subject_of
from skyrelay.runtime.canonical import Usage
from skyrelay.runtime.router.config import Price
from skyrelay.runtime.router.cost import cost_of
from tests.servekit import FREE, Serve, example_config

LONG_SYSTEM = "You are a careful assistant. " * 200  # 5,800 characters: about 1,450 tokens
SHORT_SYSTEM = "You are a careful assistant."


def _usage(client, system: str):
    done = client.chat.completions.create(model="fast", messages=[{"role": "system", "content": system},
                                                                  {"role": "user", "content": "hi"}], max_tokens=8)
    return done.usage


def test_bedrock_gets_a_cache_point_past_the_minimum_and_usage_reports_cache_tokens(tmp_path, sim):
    cfg = example_config(tmp_path, sim.base_url, cache={"enabled": False}, hedge={"enabled": False})
    cfg["models"]["fast"]["deployments"] = ["fast-bedrock"]
    with Serve(tmp_path, cfg) as srv:
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key=FREE, max_retries=0)
        first, second = _usage(client, LONG_SYSTEM), _usage(client, LONG_SYSTEM)
        assert first.prompt_tokens_details.cache_write_tokens > 0 and first.prompt_tokens_details.cached_tokens == 0, first
        assert second.prompt_tokens_details.cached_tokens == first.prompt_tokens_details.cache_write_tokens, second
        short = _usage(client, SHORT_SYSTEM), _usage(client, SHORT_SYSTEM)
        assert all(u.prompt_tokens_details.cached_tokens == 0 and u.prompt_tokens_details.cache_write_tokens == 0
                   for u in short)


def test_prompt_cache_off_sends_no_cache_point_and_fails_the_check(tmp_path, sim, aws_dev_plan):
    cfg = example_config(tmp_path, sim.base_url, cache={"enabled": False}, hedge={"enabled": False})
    cfg["models"]["fast"]["deployments"] = ["fast-bedrock"]
    next(d for d in cfg["deployments"] if d["name"] == "fast-bedrock")["prompt_cache"] = "off"
    with Serve(tmp_path, cfg) as srv:
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key=FREE, max_retries=0)
        usages = _usage(client, LONG_SYSTEM), _usage(client, LONG_SYSTEM)
        assert all(u.prompt_tokens_details.cached_tokens == 0 for u in usages)
    raw = copy.deepcopy(subject_of(aws_dev_plan).router_raw)
    raw["deployments"][0]["prompt_cache"] = "off"
    row = p3_caching.check(subject_of(aws_dev_plan, raw))
    assert row.status is Status.failed and "fast-bedrock: prompt caching off (prompt_cache: off)" in row.evidence
    row = p3_caching.check(subject_of(aws_dev_plan))
    assert row.status is Status.passed
    assert "quality-bedrock: cachePoint added automatically past 1,024 system tokens" in row.evidence


def test_cost_applies_cache_prices():
    price = Price(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
    assert cost_of(Usage(input_tokens=1000, cache_read_tokens=2000, cache_write_tokens=1000, output_tokens=100),
                   price) == (3.0 + 0.6 + 3.75 + 1.5)
