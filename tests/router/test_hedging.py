"""Hedged attempts and non-streamed answers read from upstream streams, with an injected fake provider.

Deployment `a` is the primary of model `fast`, `b` its secondary. TTFT timeouts here are the outcome
under test (a hung attempt ends at its own TTFT deadline), so they are short."""

import asyncio

import pytest

from skyrelay.runtime.errors import UpstreamServerError
from skyrelay.runtime.router.breaker import State
from skyrelay.runtime.router.outcome import Observer
from skyrelay.runtime.router.router import Router
from tests.routerkit import HANG, FakeProvider, make_config, req

TTFT = 0.5


class Attempts(Observer):
    def __init__(self):
        self.seen: list[tuple[str, str]] = []

    def attempt(self, deployment, outcome, seconds):
        self.seen.append((deployment, outcome))


def hedged(fake, timeouts=None, hedge=None, ttft=TTFT) -> Router:
    cfg = make_config(timeouts={"request_s": 10, "attempt_s": 5, "ttft_s": ttft, "idle_s": 5, **(timeouts or {})},
                      hedge={"min_s": 0.05, "initial_s": 0.05, "max_s": 1.0, **(hedge or {})})
    return Router(cfg, fake.call, fake.open_stream, observer=Attempts())


async def answer(r: Router, stream: bool) -> tuple[str, str]:
    """(deployment, text) of one routed request."""
    if not stream:
        out = await r.complete(req(), "pro", use_cache=False)
        return out.deployment, out.result.text
    rs = await r.stream(req(stream=True), "pro")
    text = "".join([d.text async for d in rs])
    return rs.deployment, text


async def settled(r: Router) -> None:
    """Waits until every hedged attempt that lost has ended in the background."""
    while r._background:
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("stream", [False, True], ids=["sync", "stream"])
def test_a_hung_primary_is_hedged_then_judged_at_its_own_deadline(stream):
    fake = FakeProvider()
    fake.script("a", HANG)
    r = hedged(fake)

    async def go():
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        first = await answer(r, stream)
        took = loop.time() - t0
        for _ in range(2):
            assert await answer(r, stream) == first
        assert r.deployments["a"].breaker.state is State.CLOSED  # the hung attempts are still running
        await settled(r)
        return first, took

    (dep, text), took = asyncio.run(go())
    assert dep == "b" and text == "hello world from b"
    assert took < TTFT  # answered after the hedge delay, not after the primary's TTFT deadline
    assert r.deployments["a"].breaker.state is State.OPEN  # 3 hung attempts: threshold 3
    assert r.observer.seen.count(("a", "upstream_timeout")) == 3 and r.observer.seen.count(("b", "ok")) == 3
    assert asyncio.run(answer(r, stream))[0] == "b" and fake.streams["a"] == 3  # open: skipped at once


@pytest.mark.parametrize("stream", [False, True], ids=["sync", "stream"])
def test_a_slow_primary_that_loses_is_closed_and_counted_healthy(stream):
    fake = FakeProvider()
    fake.script("a", ("delay", 0.3))
    r = hedged(fake)

    async def go():
        got = await answer(r, stream)
        await settled(r)
        return got

    assert asyncio.run(go())[0] == "b"
    assert ("a", "hedge_lost") in r.observer.seen and ("b", "ok") in r.observer.seen
    assert fake.left["a"] == 1  # closed after its first chunk: the upstream stops generating
    assert r.deployments["a"].breaker.failures == 0
    assert r.deployments["a"].ttft >= 0.3  # its late first chunk taught the estimate


def test_the_first_chunk_wins_even_when_the_hedge_is_the_slower_one():
    fake = FakeProvider()
    fake.script("a", ("delay", 0.2))
    fake.script("b", ("delay", 0.35))  # its first chunk comes after a's, before its own TTFT deadline
    r = hedged(fake)

    async def go():
        got = await answer(r, True)
        await settled(r)
        return got

    assert asyncio.run(go()) == ("a", "hello world from a")
    assert fake.streams == {"a": 1, "b": 1} and fake.left["b"] == 1
    assert ("b", "hedge_lost") in r.observer.seen


def test_without_hedging_a_hung_primary_costs_its_ttft():
    fake = FakeProvider()
    fake.script("a", HANG)
    r = hedged(fake, hedge={"enabled": False})

    async def go():
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        got = await answer(r, False)
        return got, loop.time() - t0

    (dep, _), took = asyncio.run(go())
    assert dep == "b" and took >= TTFT
    assert r.observer.seen == [("a", "upstream_timeout"), ("b", "ok")]


def test_a_request_cancelled_mid_race_cancels_its_attempts():
    fake = FakeProvider()
    fake.script("a", HANG)
    fake.script("b", HANG)
    r = hedged(fake)

    async def go():
        task = asyncio.ensure_future(answer(r, True))
        while fake.streams["b"] == 0:  # both attempts in flight
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await settled(r)

    asyncio.run(go())
    assert sorted(r.observer.seen) == [("a", "cancelled"), ("b", "cancelled")]
    assert r.deployments["a"].breaker.failures == 0  # says nothing about the deployments


def test_a_non_streamed_answer_cut_mid_body_fails_over():
    """Read from a stream, a non-streamed answer is only committed when whole: a cut moves to the next."""
    fake = FakeProvider()
    fake.script("a", ("cut", 1, UpstreamServerError("cut")))
    r = hedged(fake)
    dep, text = asyncio.run(answer(r, False))
    assert (dep, text) == ("b", "hello world from b")
    assert r.observer.seen == [("a", "upstream_server_error"), ("b", "ok")]


def test_stream_sync_off_makes_one_plain_call():
    fake = FakeProvider()
    r = hedged(fake, timeouts={"stream_sync": False})
    assert asyncio.run(answer(r, False)) == ("a", "hello world from a")
    assert fake.calls == {"a": 1} and not fake.streams


def test_the_hedge_delay_follows_the_ttft_of_the_deployment():
    r = hedged(FakeProvider())
    a = r.deployments["a"]
    assert r._hedge.delay(a) == 0.05  # initial_s: no sample yet
    for _ in range(20):
        a.observe_ttft(0.2)
    assert r._hedge.delay(a) == pytest.approx(0.2, abs=0.01)  # steady: the mean, the deviation has decayed
    a.observe_ttft(0.5)
    assert 0.5 < r._hedge.delay(a) < 1.0  # a jump widens it (4 mean deviations)
    for _ in range(20):
        a.observe_ttft(5.0)
    assert r._hedge.delay(a) == 1.0  # max_s
    for _ in range(40):
        a.observe_ttft(0.001)
    assert r._hedge.delay(a) == 0.05  # min_s


def test_hedges_in_flight_stay_within_the_budget():
    """20 requests at once on a hung primary: at most max(3, 20% of 20) hedges run at a time, and the
    others are started as those end, all before the primary's TTFT deadline."""
    fake = FakeProvider()
    fake.script("a", HANG)
    fake.script("b", ("delay", 0.1))
    r = hedged(fake, ttft=3.0)
    running = peak = 0
    plain = fake.open_stream

    def counted(upstream, request, ttft, idle):
        stream = plain(upstream, request, ttft, idle)
        if upstream.model != "b":
            return stream

        async def tracked():
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            try:
                yield await anext(stream)
            finally:
                running -= 1
            async for delta in stream:
                yield delta

        return tracked()

    r._open_stream = counted

    async def go():
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        got = await asyncio.gather(*(answer(r, True) for _ in range(20)))
        return got, loop.time() - t0

    got, took = asyncio.run(go())
    assert [dep for dep, _ in got] == ["b"] * 20
    assert peak == 4 and took < 3.0
    assert fake.streams == {"a": 20, "b": 20}
