"""Tier limits on every backend (memory, SQLite, a real Redis, DynamoDB on a real moto server), and 4
worker processes sharing Redis."""

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import aiohttp
import pytest
import yaml

from skyrelay.runtime.router.limits import MemoryLimiter, make_limiter
from skyrelay.runtime.router.limits.redis import RedisLimiter
from skyrelay.tiers import TierName, default_tiers
from tests.routerkit import PRO_KEY, config_dict, free_port

TIERS = default_tiers()


def limiter(backend, redis_url):
    if backend == "memory":
        return MemoryLimiter()
    if backend == "sqlite":  # through make_limiter, as a `limiter: {backend: sqlite}` config builds it
        from skyrelay.runtime.router.config import parse_config

        doc = config_dict(limiter={"backend": "sqlite", "path": os.path.join(tempfile.mkdtemp(), "limits.db")})
        return make_limiter(parse_config(doc).limiter)
    if backend == "dynamodb":  # through make_limiter, as a `limiter: {backend: dynamodb}` config builds it
        from skyrelay.runtime.stores.dynamodb import create_table
        from tests.aws import moto_server

        table = moto_server.unique("limits")
        create_table(moto_server.client("dynamodb"), table)
        from skyrelay.runtime.router.config import parse_config

        doc = config_dict()
        doc["limiter"] = yaml.safe_load(f"{{backend: dynamodb, table: {table}, endpoint_url: '{moto_server.endpoint()}'}}")
        lim = make_limiter(parse_config(doc).limiter)
        # Time at 1/1000 speed: moto round trips on a loaded machine would otherwise refill the TPM
        # bucket between two acquires (Free refills 167 tokens/s) and the tests would measure the load.
        start = time.time()
        lim.clock = lambda: start + (time.time() - start) / 1000
        return lim
    if backend == "cosmos":  # through make_limiter, as a `limiter: {backend: cosmos}` config builds it
        return cosmos_limiter()
    return RedisLimiter.from_url(redis_url, prefix=f"t{uuid.uuid4().hex[:8]}")


def cosmos_limiter():
    """The Cosmos limiter on a fresh container of the cosmosdb-server peer (tests/peers.py), time at
    1/1000 speed as for DynamoDB (round trips on a loaded machine would refill the TPM bucket)."""
    from concurrent.futures import ThreadPoolExecutor

    from skyrelay.runtime.router.config import parse_config
    from tests import peers
    from tests.contracts.azure_adapters import DATABASE, fresh_container

    with ThreadPoolExecutor(1) as pool:  # called inside the test's event loop
        container = pool.submit(asyncio.run, fresh_container("limits")).result()
    doc = config_dict()
    doc["limiter"] = {"backend": "cosmos", "cosmos_endpoint": peers.cosmos(), "cosmos_database": DATABASE,
                      "cosmos_container": container, "cosmos_emulator_key": peers.COSMOS_EMULATOR_KEY}
    lim = make_limiter(parse_config(doc).limiter)
    start = time.time()
    lim.clock = lambda: start + (time.time() - start) / 1000
    return lim


BACKENDS = ["memory", "sqlite", "redis", "dynamodb", "cosmos"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("tier_name", list(TierName))
def test_rpm_per_tier(backend, tier_name, redis_url, moto_url):
    tier = TIERS[tier_name]

    async def go():
        lim = limiter(backend, redis_url)
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


@pytest.mark.parametrize("backend", BACKENDS)
def test_tpm_reserve_and_refund(backend, redis_url, moto_url):
    tier = TIERS[TierName.FREE]

    async def go():
        lim = limiter(backend, redis_url)
        # 3/4 of the bucket: a second one fits only after 30 s of refill, so a slow machine cannot refill it
        # between the two acquires (Redis keeps time itself: its clock cannot be slowed as the others are)
        big = tier.tpm * 3 // 4
        r1 = await lim.acquire("t", tier, big)
        with pytest.raises(Exception) as err:  # a second reservation of the same size does not fit
            await lim.acquire("t", tier, big)
        assert err.value.dimension == "tokens" and err.value.retry_after > 0
        await lim.settle(r1, tier, 10)  # used only 10: the rest comes back
        r2 = await lim.acquire("t", tier, big)
        await lim.settle(r2, tier, big)
        await lim.settle(r2, tier, big)  # settling twice is a no-op
        await lim.close()
        return r2

    r2 = asyncio.run(go())
    assert int(r2.headers["x-ratelimit-remaining-tokens"]) < tier.tpm // 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_streams_per_tier(backend, redis_url, moto_url):
    tier = TIERS[TierName.DEVELOPER]

    async def go():
        lim = limiter(backend, redis_url)
        held = [await lim.acquire("t", tier, 1, stream=True) for _ in range(tier.max_concurrent_streams)]
        with pytest.raises(Exception) as err:
            await lim.acquire("t", tier, 1, stream=True)
        assert err.value.dimension == "streams"
        await lim.acquire("t", tier, 1)  # non-stream requests are not stream-limited
        await lim.settle(held[0], tier, 1)
        await lim.acquire("t", tier, 1, stream=True)  # the freed slot is usable again
        await lim.close()

    asyncio.run(go())


def _serve_config(tmp_path, redis_url) -> str:
    raw = config_dict(limiter={"backend": "redis", "redis_url": redis_url, "prefix": f"mp{uuid.uuid4().hex[:6]}"},
                      breaker={"failure_threshold": 1000000, "open_s": 1},
                      retry={"attempts": 1}, cache={"enabled": False})
    path = tmp_path / "router.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def test_four_workers_share_redis_limits(tmp_path, redis_url):
    """A burst of 4x the Professional RPM over 4 worker processes admits no more than the limit + 1%."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "skyrelay.cli.main", "serve", "--config", _serve_config(tmp_path, redis_url),
         "--port", str(port), "--workers", "4"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    rpm = TIERS[TierName.PROFESSIONAL].rpm
    try:
        statuses = asyncio.run(_burst(port, 4 * rpm))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    limited = statuses.count(429)
    admitted = len(statuses) - limited
    assert set(statuses) <= {429, 502, 503, 504}, set(statuses)  # the upstream is a closed port
    assert rpm * 0.9 <= admitted <= rpm * 1.01, (admitted, rpm)


async def _burst(port: int, n: int) -> list[int]:
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as s:
        deadline = time.monotonic() + 30
        while True:
            try:
                async with s.get(url + "/healthz") as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # let every worker finish booting
        body = {"model": "fast", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
        headers = {"authorization": f"Bearer {PRO_KEY}"}

        async def one():
            async with s.post(url + "/v1/chat/completions", json=body, headers=headers) as r:
                await r.read()
                return r.status

        return list(await asyncio.gather(*(one() for _ in range(n))))


def test_yaml_selects_the_dynamodb_limiter_and_names_bad_keys(tmp_path, monkeypatch):
    from skyrelay.errors import ConfigError
    from skyrelay.runtime.router.config import load_config
    from skyrelay.runtime.router.limits.dynamodb import DynamoDbLimiter

    doc = config_dict()
    doc["limiter"] = {"backend": "dynamodb", "table": "jobs-table", "region": "eu-west-1"}
    path = tmp_path / "skyrelay.yaml"
    path.write_text(yaml.safe_dump(doc))
    cfg = load_config(path)
    assert (cfg.limiter.backend, cfg.limiter.table, cfg.limiter.region) == ("dynamodb", "jobs-table", "eu-west-1")
    lim = make_limiter(cfg.limiter)
    assert isinstance(lim, DynamoDbLimiter) and lim.table == "jobs-table"
    # without a table: on Lambda, the one AsyncJobs sets on the functions (bootstrap); else an error
    from skyrelay.runtime.platforms import bootstrap
    from skyrelay.runtime.platforms.aws_lambda.runtime import AWS

    doc["limiter"] = {"backend": "dynamodb"}
    path.write_text(yaml.safe_dump(doc))
    env = {"SKYRELAY_CONFIG": str(path), "SKYRELAY_JOBS_TABLE": "from-env"}
    assert make_limiter(bootstrap.router_config(env, deployment=AWS).limiter).table == "from-env"
    with pytest.raises(ValueError, match="limiter.table"):
        make_limiter(load_config(path).limiter)
    doc["limiter"] = {"backend": "dynamo"}
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "limiter.backend" in str(err.value)
