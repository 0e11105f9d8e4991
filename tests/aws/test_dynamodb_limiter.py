"""The DynamoDB limiter on a real moto server: limits shared across limiter instances (Lambda
containers). Its tier semantics (RPM, TPM reserve/refund, streams) run in tests/limits with the
memory and Redis backends, against the same moto server."""

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
