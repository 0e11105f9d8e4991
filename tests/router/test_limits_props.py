"""Property tests of the memory limiter under a controlled clock."""

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from skyrelay.runtime.errors import RateLimited
from skyrelay.runtime.router.limits import MemoryLimiter
from skyrelay.tiers import TierName, default_tiers

TIER = default_tiers()[TierName.FREE]

ops = st.lists(st.tuples(st.floats(0, 20), st.integers(1, 3000), st.integers(0, 3000), st.booleans()),
               min_size=1, max_size=80)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_never_more_than_rpm_in_any_window_and_bucket_bounded(steps):
    now = [0.0]
    lim = MemoryLimiter(clock=lambda: now[0])
    admitted: list[float] = []

    async def go():
        for dt, reserve, used, settle in steps:
            now[0] += dt
            try:
                r = await lim.acquire("t", TIER, reserve)
            except RateLimited as exc:
                assert exc.retry_after > 0
                continue
            admitted.append(now[0])
            assert r.tokens <= TIER.tpm
            if settle:
                await lim.settle(r, TIER, used)
            assert lim.buckets["t"][0] <= TIER.tpm

    asyncio.run(go())
    for i, t in enumerate(admitted):
        in_window = [u for u in admitted[i:] if u < t + 60]
        assert len(in_window) <= TIER.rpm


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 5000), min_size=1, max_size=30))
def test_tokens_admitted_without_time_never_exceed_tpm(reserves):
    lim = MemoryLimiter(clock=lambda: 0.0)
    total = 0

    async def go():
        nonlocal total
        for n in reserves:
            try:
                r = await lim.acquire("t", TIER, n)
            except RateLimited:
                continue
            total += r.tokens

    asyncio.run(go())
    assert total <= TIER.tpm
