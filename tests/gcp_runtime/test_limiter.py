"""The shared Firestore limiter (runtime/router/limits/firestore.py) on the Firestore emulator, built
through make_limiter from a `limiter: {backend: firestore}` config: exact RPM per tenant, TPM reserve
and refund, and one window shared by two instances (two clients, as two Cloud Run instances)."""

import asyncio
import time

import pytest

from skyrelay.runtime.errors import RateLimited
from skyrelay.runtime.router.config import LimiterConfig
from skyrelay.runtime.router.limits import make_limiter
from skyrelay.tiers import TierName, default_tiers
from tests.contracts.gcp_adapters import PROJECT, fresh_collection

pytestmark = pytest.mark.anyio
TIERS = default_tiers()


def limiter(collection: str):
    """Time at 1/1000 speed, as for the other network limiters: emulator round trips on a loaded
    machine would otherwise refill the TPM bucket between two acquires."""
    lim = make_limiter(LimiterConfig(backend="firestore", firestore_project=PROJECT, firestore_collection=collection))
    start = time.time()
    lim.clock = lambda: start + (time.time() - start) / 1000
    return lim


async def test_rpm_is_exact_per_tenant_and_shared_by_two_instances():
    tier = TIERS[TierName.FREE]
    collection = fresh_collection("limits")
    a, b = limiter(collection), limiter(collection)
    try:
        results = await asyncio.gather(*((a if i % 2 else b).acquire("t", tier, 1) for i in range(tier.rpm + 4)),
                                       return_exceptions=True)
        admitted = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, RateLimited)]
        assert len(admitted) == tier.rpm and len(refused) == 4
        assert refused[0].dimension == "requests" and 0 < refused[0].retry_after <= 60
        await a.acquire("other", tier, 1)  # tenants are independent
    finally:
        await a.close()
        await b.close()


async def test_tpm_reserve_and_refund_across_instances():
    tier = TIERS[TierName.FREE]
    collection = fresh_collection("limits")
    a, b = limiter(collection), limiter(collection)
    try:
        big = tier.tpm // 2 + 1
        r1 = await a.acquire("t", tier, big)
        with pytest.raises(RateLimited) as err:  # the other instance sees the reservation
            await b.acquire("t", tier, big)
        assert err.value.dimension == "tokens"
        await a.settle(r1, tier, 10)  # used 10: the rest comes back, for every instance
        r2 = await b.acquire("t", tier, big)
        assert int(r2.headers["x-ratelimit-remaining-tokens"]) < tier.tpm // 2
    finally:
        await a.close()
        await b.close()


def test_the_firestore_backend_needs_its_collection():
    with pytest.raises(ValueError, match="limiter.firestore_collection"):
        make_limiter(LimiterConfig(backend="firestore", firestore_project=PROJECT))
