"""Router behaviour with an injected fake provider: failover by error class, streams, limits, cost."""

import asyncio

import pytest

from skyrelay.runtime.canonical import Usage
from skyrelay.runtime.errors import (
    ContentFiltered,
    ContextLengthExceeded,
    MaxTokensOverCap,
    ModelNotAllowed,
    Overloaded,
    RateLimited,
    UnknownModel,
    UpstreamOverloaded,
    UpstreamRateLimited,
    UpstreamServerError,
)
from skyrelay.runtime.router.router import Router
from tests.routerkit import HANG, FakeProvider, make_config, req


def router(fake, **overrides) -> Router:
    cfg = make_config(**overrides)
    sleeps = []

    async def sleep(s):
        sleeps.append(s)

    r = Router(cfg, fake.call, fake.open_stream, sleep=sleep)
    r.sleeps = sleeps
    return r


def run(coro):
    return asyncio.run(coro)


@pytest.mark.parametrize("error", [UpstreamServerError("x"), UpstreamOverloaded("x"), HANG,
                                   UpstreamRateLimited("x", retry_after=None)])
def test_failover_to_secondary(error):
    fake = FakeProvider()
    fake.script("a", error)
    out = run(router(fake).complete(req(), "pro"))
    assert out.deployment == "b" and out.result.text.endswith("from b")
    assert fake.calls == {"a": 1, "b": 1}


def test_content_filter_is_not_retried():
    fake = FakeProvider()
    fake.script("a", ContentFiltered("no"))
    with pytest.raises(ContentFiltered):
        run(router(fake).generate(req(), "pro"))
    assert fake.calls == {"a": 1}


def test_context_length_goes_to_a_larger_window_only():
    fake = FakeProvider()
    fake.script("c", ContextLengthExceeded("too long"))
    out = run(router(fake).complete(req("big"), "pro"))
    assert out.deployment == "d" and fake.calls == {"c": 1, "d": 1}
    fake2 = FakeProvider()
    fake2.script("d", ContextLengthExceeded("too long"))
    r = router(fake2, models={"fast": {"deployments": ["a", "b"]}, "big": {"deployments": ["d", "c"]}})
    with pytest.raises(ContextLengthExceeded):
        run(r.generate(req("big"), "pro"))
    assert fake2.calls == {"d": 1}  # c has a smaller window: never tried


def test_retry_after_rests_the_deployment():
    fake = FakeProvider()
    fake.script("a", UpstreamRateLimited("slow down", retry_after=30), "ok")
    r = router(fake)

    async def go():
        first = await r.complete(req(), "pro")
        second = await r.complete(req(), "pro")
        return first, second

    first, second = run(go())
    assert first.deployment == second.deployment == "b"
    assert fake.calls == {"a": 1, "b": 2}  # a not called again inside its Retry-After


def test_single_deployment_waits_at_least_retry_after():
    fake = FakeProvider()
    fake.script("a", UpstreamRateLimited("slow", retry_after=0.7), "ok")
    r = router(fake, models={"fast": {"deployments": ["a"]}, "big": {"deployments": ["c", "d"]}})
    # The fake sleep does not move the monotonic clock, so make the cooldown expire by hand.
    async def sleep(s):
        r.sleeps.append(s)
        r.deployments["a"].cooldown_until = 0

    r.sleep = sleep
    out = run(r.complete(req(), "pro"))
    assert out.deployment == "a" and fake.calls == {"a": 2}
    assert r.sleeps and r.sleeps[0] >= 0.7 - 0.01


def test_retry_after_beyond_deadline_gives_up_at_once():
    fake = FakeProvider()
    fake.script("a", UpstreamRateLimited("slow", retry_after=3600))
    r = router(fake, models={"fast": {"deployments": ["a"]}, "big": {"deployments": ["c", "d"]}})
    with pytest.raises(UpstreamRateLimited):
        run(r.generate(req(), "pro"))
    assert fake.calls == {"a": 1} and r.sleeps == []


def test_attempts_are_bounded_and_last_error_surfaces():
    fake = FakeProvider()
    fake.script("a", UpstreamServerError("a down"))
    fake.script("b", UpstreamServerError("b down"))
    r = router(fake)
    with pytest.raises(UpstreamServerError):
        run(r.generate(req(), "pro"))
    assert sum(fake.calls.values()) == 4 and len(r.sleeps) == 1  # 2 passes of 2, one backoff between


def test_breaker_opens_skips_then_recovers():
    clock = [0.0]
    fake = FakeProvider()
    fake.script("a", UpstreamServerError("down"))
    cfg = make_config()
    r = Router(cfg, fake.call, fake.open_stream, clock=lambda: clock[0])

    async def go(n):
        return [(await r.complete(req(), "pro")).deployment for _ in range(n)]

    assert run(go(3)) == ["b", "b", "b"]  # threshold 3: a fails 3 times
    assert fake.calls["a"] == 3
    assert run(go(5)) == ["b"] * 5 and fake.calls["a"] == 3  # open: a skipped
    fake.script("a", "ok")
    clock[0] += 0.5  # open_s
    assert run(go(2)) == ["a", "a"]  # half-open probe succeeded, closed again
    assert fake.calls["a"] == 5


def test_all_breakers_open_is_503_with_retry_after():
    clock = [0.0]
    fake = FakeProvider()
    fake.script("a", UpstreamServerError("down"))
    fake.script("b", UpstreamServerError("down"))
    r = Router(make_config(retry={"attempts": 2}), fake.call, fake.open_stream, clock=lambda: clock[0])

    async def go():
        for _ in range(3):
            with pytest.raises(UpstreamServerError):
                await r.generate(req(), "pro")
        with pytest.raises(Overloaded) as err:
            await r.generate(req(), "pro")
        return err.value

    err = run(go())
    assert err.retry_after == pytest.approx(0.5) and fake.calls == {"a": 3, "b": 3}


def test_up_front_rejections_make_no_upstream_call():
    fake = FakeProvider()
    r = router(fake)
    with pytest.raises(ModelNotAllowed):
        run(r.generate(req("big"), "free"))
    with pytest.raises(MaxTokensOverCap):
        run(r.generate(req(max_tokens=r.tiers["free"].max_tokens_cap + 1), "free"))
    with pytest.raises(UnknownModel):
        run(r.generate(req("nope"), "pro"))
    assert sum(fake.calls.values()) == 0


def test_rpm_limit_then_429_without_upstream_call():
    fake = FakeProvider()
    r = router(fake)
    rpm = r.tiers["free"].rpm

    async def go():
        for _ in range(rpm):
            await r.generate(req(max_tokens=10), "free")
        with pytest.raises(RateLimited) as err:
            await r.generate(req(max_tokens=10), "free")
        return err.value

    err = run(go())
    assert err.retry_after > 0 and err.headers["x-ratelimit-remaining-requests"] == "0"
    assert fake.calls["a"] == rpm


def _collect(r, request, tenant="pro"):
    async def go():
        rs = await r.stream(request, tenant)
        parts = []
        try:
            async for d in rs:
                parts.append(d.text)
        finally:
            await rs.aclose()
        return rs, "".join(parts)

    return run(go())


def test_stream_fails_over_before_first_chunk():
    fake = FakeProvider()
    fake.script("a", UpstreamServerError("x"))
    rs, text = _collect(router(fake), req(stream=True))
    assert rs.deployment == "b" and text == "hello world from b" and fake.calls == {"a": 1, "b": 1}


def test_stream_ttft_timeout_fails_over():
    fake = FakeProvider()
    fake.script("a", HANG)
    rs, _ = _collect(router(fake), req(stream=True))
    assert rs.deployment == "b"


def test_stream_never_splices_after_first_chunk():
    fake = FakeProvider()
    fake.script("a", ("cut", 2, UpstreamServerError("cut")))
    r = router(fake)
    seen = []

    async def go():
        rs = await r.stream(req(stream=True), "pro")
        async for d in rs:
            seen.append(d.text)

    with pytest.raises(UpstreamServerError):
        run(go())
    assert seen == ["hello ", "world "] and fake.calls == {"a": 1}


def test_stream_slot_released_and_cost_equal_to_non_stream():
    usage = Usage(input_tokens=120, cache_read_tokens=400, cache_write_tokens=30, output_tokens=55)
    fake = FakeProvider(usage=usage)
    r = router(fake)
    out = run(r.complete(req(), "free"))
    for _ in range(3):  # the free tier has 1 stream slot: it must come back every time
        rs, _ = _collect(r, req(stream=True), "free")
        assert rs.cost == pytest.approx(out.cost) and rs.cost > 0
    assert r.ledger.totals[("free", "a", "fast")] == pytest.approx(4 * out.cost)


def test_tpm_refund_after_call():
    fake = FakeProvider(usage=Usage(10, 0, 0, 5))
    r = router(fake)
    tier = r.tiers["free"]
    run(r.generate(req(), "free"))
    level = r.limiter.buckets["free"][0]
    assert level == pytest.approx(tier.tpm - 15, abs=1)  # reserved prompt + cap, refunded to actual 15


def test_cache_hit_skips_upstream_and_opt_out():
    fake = FakeProvider()
    r = router(fake, cache={"enabled": True})

    async def go():
        a = await r.complete(req(), "pro")
        b = await r.complete(req(), "pro")
        c = await r.complete(req(), "pro", use_cache=False)
        d = await r.complete(req(), "free")  # other tenant: own cache entry
        return a, b, c, d

    a, b, c, d = run(go())
    assert not a.cached and b.cached and not c.cached and not d.cached
    assert b.result.text == a.result.text and fake.calls["a"] == 3
