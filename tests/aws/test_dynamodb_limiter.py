"""The DynamoDB limiter on a real moto server: limits shared across limiter instances (Lambda
containers). Its tier semantics (RPM, TPM reserve/refund, streams) run in tests/limits with the
memory and Redis backends, against the same moto server."""

import asyncio
import time

import pytest

from skyrelay.runtime.router.limits.dynamodb import DynamoDbLimiter
from skyrelay.tiers import TierName, default_tiers
from tests.aws import moto_server

TIERS = default_tiers()


@pytest.fixture
def make():
    moto_server.endpoint()  # a missing moto[server] fails here (tests/peers.py)
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
        # Time at 1/1000 speed: on a loaded machine the races' retries can take longer than the
        # 60 s window, and admissions that leave the window would count as extra ones
        start = time.time()
        for lim in limiters:
            lim.clock = lambda: start + (time.time() - start) / 1000

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


class ReplayedWrites:
    """The moto client, sending every put_item twice, as a client retry does when the first answer was
    lost after DynamoDB applied the write: the caller sees only the replay's answer (its condition fails)."""

    def __init__(self, client):
        self.client = client

    def __getattr__(self, name):
        return getattr(self.client, name)

    def put_item(self, **kwargs):
        self.client.put_item(**kwargs)
        return self.client.put_item(**kwargs)


def test_a_write_that_landed_but_was_reported_lost_counts_once(make):
    """Each write's mark (runtime/router/limits/versioned.py): after a retried write, the re-read shows this
    limiter's own mark, so the request is admitted once, and the refund of settle is applied once."""
    tier = TIERS[TierName.DEVELOPER]
    lim = make()
    lim._client = ReplayedWrites(lim.client)
    frozen = time.time()
    lim.clock = lambda: frozen  # no refill, no window sliding: the figures below are exact

    async def go():
        admitted = 0
        for _ in range(tier.rpm + 5):
            try:
                reservation = await lim.acquire("replayed", tier, 100)
            except Exception as exc:
                assert getattr(exc, "dimension", None) == "requests"
                continue
            admitted += 1
            await lim.settle(reservation, tier, 40)
        state, _ = await lim._read("replayed")
        await lim.close()
        return admitted, state

    admitted, state = asyncio.run(go())
    assert admitted == tier.rpm and len(state["reqs"]) == tier.rpm
    assert state["level"] == tier.tpm - 40 * tier.rpm  # each request: 100 reserved, 60 refunded, once


class CountingClient:
    """The moto client, counting the DynamoDB operations a limiter makes."""

    def __init__(self, client):
        self.client, self.ops = client, []

    def __getattr__(self, name):
        self.ops.append(name)
        return getattr(self.client, name)


def test_settle_after_acquire_writes_without_reading_and_a_stale_hint_never_rejects(make):
    tier = TIERS[TierName.FREE]  # 10,000 TPM
    a, b = make(), make()
    a._client = counted = CountingClient(a.client)

    async def go():
        held = await a.acquire("t", tier, 4_000)
        assert counted.ops == ["get_item", "put_item"]
        await a.settle(held, tier, 4_000)  # against the item a just wrote: no read
        assert counted.ops[2:] == ["put_item"]
        held = await a.acquire("t", tier, 5_000)  # 1,000 left, in a's hint
        other = await b.acquire("t", tier, 500)
        await b.settle(held, tier, 0)  # another container returns a's 5,000: 5,500 left in the table
        counted.ops.clear()
        again = await a.acquire("t", tier, 3_000)  # over a's stale hint, within the table: admitted
        assert counted.ops == ["get_item", "put_item"]  # the hint was not trusted to refuse
        await a.settle(again, tier, 3_000)
        await b.settle(other, tier, 500)
        state, _ = await b._read("t")
        return state

    started = time.monotonic()
    state = asyncio.run(go())
    refill = (time.monotonic() - started) * tier.tpm / 60
    # 10,000 - 4,000 - 5,000 - 500 + 5,000 - 3,000 = 2,500, plus the refill of the seconds the test
    # took: nothing was lost or counted twice across the two instances and their hints
    assert 2_500 <= state["level"] <= 2_500 + refill + 1
    assert len(state["reqs"]) == 4
