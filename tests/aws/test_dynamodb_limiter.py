"""The DynamoDB limiter on a real moto server: the same tier semantics as the memory and Redis
backends (tests/limits), and limits shared across limiter instances (Lambda containers)."""

import asyncio

import pytest

from skyrelay.runtime.router.limits.dynamodb import DynamoDbLimiter
from skyrelay.tiers import TierName, default_tiers
from tests.aws import moto_server

TIERS = default_tiers()


@pytest.fixture
def make():
    if moto_server.endpoint() is None:
        pytest.skip("moto[server] is not installed")
    from skyrelay.runtime.stores.dynamodb import create_table

    table = moto_server.unique("limits")
    create_table(moto_server.client("dynamodb"), table)
    return lambda: DynamoDbLimiter(table, client=moto_server.client("dynamodb"))


@pytest.mark.parametrize("tier_name", [TierName.FREE, TierName.DEVELOPER, TierName.PROFESSIONAL])
def test_rpm_per_tier(make, tier_name):
    tier = TIERS[tier_name]

    async def go():
        lim = make()
        for _ in range(tier.rpm):
            await lim.acquire("t", tier, 1)
        with pytest.raises(Exception) as err:
            await lim.acquire("t", tier, 1)
        await lim.acquire("other", tier, 1)  # tenants are independent
        await lim.close()
        return err.value

    err = asyncio.run(go())
    assert err.code == "rate_limited" and err.dimension == "requests"
    assert 0 < err.retry_after <= 60
    assert err.headers["x-ratelimit-limit-requests"] == str(tier.rpm)
    assert err.headers["x-ratelimit-remaining-requests"] == "0"


def test_tpm_reserve_and_refund(make):
    tier = TIERS[TierName.FREE]

    async def go():
        lim = make()
        big = tier.tpm // 2 + tier.tpm // 10  # a margin of 6 s of refill, so slow calls cannot flake
        r1 = await lim.acquire("t", tier, big)
        with pytest.raises(Exception) as err:
            await lim.acquire("t", tier, big)
        assert err.value.dimension == "tokens" and err.value.retry_after > 0
        await lim.settle(r1, tier, 10)
        r2 = await lim.acquire("t", tier, big)
        await lim.settle(r2, tier, big)
        await lim.settle(r2, tier, big)  # settling twice is a no-op
        await lim.close()
        return r2

    r2 = asyncio.run(go())
    assert int(r2.headers["x-ratelimit-remaining-tokens"]) < tier.tpm // 2 - tier.tpm // 10 + 100


def test_concurrent_streams_per_tier(make):
    tier = TIERS[TierName.DEVELOPER]

    async def go():
        lim = make()
        held = [await lim.acquire("t", tier, 1, stream=True) for _ in range(tier.max_concurrent_streams)]
        with pytest.raises(Exception) as err:
            await lim.acquire("t", tier, 1, stream=True)
        assert err.value.dimension == "streams"
        await lim.acquire("t", tier, 1)
        await lim.settle(held[0], tier, 1)
        await lim.acquire("t", tier, 1, stream=True)
        await lim.close()

    asyncio.run(go())


def test_racing_containers_never_admit_more_than_the_limit(make):
    """Four limiter instances (four Lambda containers) race for one tenant's RPM: the conditional
    writes admit exactly `rpm`, no more, however the races interleave."""
    tier = TIERS[TierName.DEVELOPER]

    async def go():
        limiters = [make() for _ in range(4)]

        async def one(lim):
            try:
                await lim.acquire("shared", tier, 1)
                return True
            except Exception as exc:
                assert getattr(exc, "dimension", None) == "requests"
                return False

        results = await asyncio.gather(*(one(limiters[i % 4]) for i in range(tier.rpm + 20)))
        for lim in limiters:
            await lim.close()
        return results

    assert sum(asyncio.run(go())) == tier.rpm
