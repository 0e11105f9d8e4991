"""Breaker state machine, backoff/deadline, strategies, cache, cost and config errors."""

import asyncio
import random

import pytest

from skyrelay.errors import ConfigError
from skyrelay.runtime.canonical import ChatResult, Usage
from skyrelay.runtime.router.breaker import Breaker, State
from skyrelay.runtime.router.cache import MemoryCache, cache_key
from skyrelay.runtime.router.config import Price, parse_config
from skyrelay.runtime.router.cost import cost_of
from skyrelay.runtime.router.retry import Deadline, backoff, next_delay
from skyrelay.runtime.router.strategies import DeploymentState, Planner
from tests.routerkit import config_dict, make_config, req


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_breaker_opens_after_threshold_then_half_open_probe_closes():
    clock = Clock()
    b = Breaker(threshold=3, open_s=10, max_probes=1, clock=clock)
    for _ in range(2):
        b.on_failure()
    assert b.current() is State.CLOSED and b.allow()
    b.on_failure()
    assert b.current() is State.OPEN and not b.allow()
    assert b.retry_in() == pytest.approx(10)
    clock.t += 10
    assert b.current() is State.HALF_OPEN
    assert b.allow()  # the one probe
    assert not b.allow()  # no second concurrent probe
    b.on_success()
    assert b.current() is State.CLOSED and b.allow()


def test_breaker_failed_probe_reopens_and_success_resets_count():
    clock = Clock()
    b = Breaker(threshold=2, open_s=5, clock=clock)
    b.on_failure()
    b.on_success()
    b.on_failure()
    assert b.current() is State.CLOSED  # success reset the consecutive count
    b.on_failure()
    assert b.current() is State.OPEN
    clock.t += 5
    assert b.allow()
    b.on_failure()
    assert b.current() is State.OPEN and not b.allow()
    clock.t += 4.9
    assert not b.allow()


def test_neutral_outcome_returns_the_probe():
    clock = Clock()
    b = Breaker(threshold=1, open_s=1, clock=clock)
    b.on_failure()
    clock.t += 1
    assert b.allow() and not b.allow()
    b.on_neutral()
    assert b.allow()


def test_backoff_full_jitter_bounds_and_deadline():
    rng = random.Random(1)
    samples = [backoff(3, 0.1, 2.0, rng) for _ in range(500)]
    assert min(samples) >= 0 and max(samples) <= 0.8 and max(samples) > 0.6  # uniform over [0, 0.8]
    assert max(backoff(30, 0.1, 2.0, rng) for _ in range(200)) <= 2.0
    clock = Clock()
    d = Deadline(1.0, clock)
    assert next_delay(0, 5.0, 0.1, 2.0, d, rng) is None  # Retry-After beyond the budget: give up now
    delay = next_delay(0, 0.5, 0.1, 2.0, d, rng)
    assert delay is not None and delay >= 0.5  # Retry-After is a floor
    clock.t += 1.0
    assert d.expired and d.remaining() == 0


def _planner(strategy="priority", weights=(1, 1), **dep_extra):
    raw = config_dict()
    for d, w in zip(raw["deployments"][:2], weights, strict=True):
        d["weight"] = w
        d.update(dep_extra.get(d["name"], {}))
    raw["models"]["fast"]["strategy"] = strategy
    cfg = parse_config(raw)
    states = [DeploymentState(cfg.deployment(n), Breaker(3, 1)) for n in ("a", "b")]
    return Planner(cfg.models["fast"], states, random.Random(7)), states


def test_priority_and_preferences():
    p, (a, b) = _planner()
    assert [s.name for s in p.order()] == ["a", "b"]
    assert [s.name for s in p.order(preference="cheap")] == ["b", "a"]
    assert [s.name for s in p.order(preference="fast")] == ["b", "a"]
    assert [s.name for s in p.order(preference="quality")] == ["a", "b"]
    assert [s.name for s in p.order(preference="nonsense")] == ["a", "b"]


def test_smooth_weighted_round_robin_matches_weights_and_interleaves():
    p, _ = _planner("weighted", weights=(3, 1))
    firsts = [p.order()[0].name for _ in range(400)]
    assert firsts.count("a") == 300 and firsts.count("b") == 100
    assert "aa" in "".join(firsts[:4]) and "bb" not in "".join(firsts)


def test_latency_strategy_prefers_lower_ewma_and_explores_unmeasured():
    p, (a, b) = _planner("latency")
    a.observe(0.5)
    assert p.order()[0].name == "b"  # unmeasured first
    b.observe(1.0)
    assert p.order()[0].name == "a"
    for _ in range(10):
        a.observe(3.0)
    assert p.order()[0].name == "b"


def test_canary_share():
    p, _ = _planner(b={"canary_percent": 20})
    firsts = [p.order()[0].name for _ in range(2000)]
    assert 300 < firsts.count("b") < 500
    assert all(p.order()[-1].name in "ab" for _ in range(5))


def test_dedicated_deployments_only_for_their_tenant():
    raw = config_dict()
    raw["deployments"].append({"name": "mine", "model": "fast", "provider": "openai_compat",
                               "upstream_model": "mine", "model_class": "dedicated"})
    raw["models"]["fast"]["deployments"].append("mine")
    raw["tenants"][1]["dedicated"] = ["mine"]
    cfg = parse_config(raw)
    states = [DeploymentState(cfg.deployment(n), Breaker(3, 1)) for n in ("a", "b", "mine")]
    p = Planner(cfg.models["fast"], states)
    assert [s.name for s in p.order(frozenset({"mine"}))] == ["mine", "a", "b"]
    assert [s.name for s in p.order()] == ["a", "b"]
    assert cfg.model_class("fast") == "small"  # dedicated does not raise the class the tier must allow


def test_context_filter_drops_small_windows():
    raw = config_dict()
    cfg = parse_config(raw)
    states = [DeploymentState(cfg.deployment(n), Breaker(3, 1)) for n in ("c", "d")]
    p = Planner(cfg.models["big"], states)
    assert [s.name for s in p.order(needed_context=10_000)] == ["d"]
    assert [s.name for s in p.order(needed_context=100_000)] == ["c", "d"]  # nothing fits: let upstream judge


def test_cost_from_usage_and_price():
    price = Price(input=3.0, output=15.0, cache_read=0.3)
    assert cost_of(Usage(1000, 2000, 1000, 500), price) == pytest.approx(3 + 0.6 + 3 + 7.5)
    assert cost_of(Usage(), price) == 0


def test_cache_key_normalises_and_scopes():
    assert cache_key("t", req(text="x")) == cache_key("t", req(text="x"))
    assert cache_key("t", req(text="x")) != cache_key("u", req(text="x"))
    assert cache_key("t", req(text="x")) != cache_key("t", req(text="x", temperature=0.5))


def test_memory_cache_ttl_and_lru():
    clock = Clock()
    c = MemoryCache(ttl_s=10, max_entries=2, clock=clock)
    r = ChatResult("x", Usage(1, 2, 3, 4), "stop", "m")

    async def go():
        await c.put("k1", r)
        await c.put("k2", r)
        assert (await c.get("k1")) == r
        await c.put("k3", r)  # evicts k2, the least recently used
        assert await c.get("k2") is None and await c.get("k1") is not None
        clock.t += 10
        assert await c.get("k1") is None

    asyncio.run(go())


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda r: r["deployments"][0].update(price={"input": -1}), "deployments[0].price.input"),
        (lambda r: r["deployments"][0].update(provider="nope"), "deployments[0].provider"),
        (lambda r: r["models"]["fast"].update(deployments=["zzz"]), "models.fast.deployments"),
        (lambda r: r["tenants"][0].update(api_keys=["sk-plaintext"]), "tenants[0].api_keys"),
        (lambda r: r.update(limiter={"backend": "etcd"}), "limiter.backend"),
        (lambda r: r["deployments"][1].update(name="a"), "deployments[1].name"),
    ],
)
def test_bad_config_names_the_key(mutate, key):
    raw = config_dict()
    mutate(raw)
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert err.value.key == key


def test_example_config_loads():
    from pathlib import Path

    from skyrelay.runtime.config import load_config

    cfg = load_config(Path(__file__).resolve().parents[2] / "examples" / "local.yaml")
    assert {"fast", "quality"} <= set(cfg.models)
    assert make_config().tiers()["free"].rpm > 0
