"""The SQLite limiter across processes and restarts (the shared suite in test_limits.py runs it too)."""

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from skyrelay.runtime.router.limits.sqlite import SqliteLimiter
from skyrelay.tiers import TierName, default_tiers

CLIENT = str(Path(__file__).with_name("sqlite_client.py"))
ROOT = Path(__file__).resolve().parents[2]
TIERS = default_tiers()


def test_four_processes_on_one_file_admit_exactly_the_rpm(tmp_path):
    tier = TIERS[TierName.PROFESSIONAL]
    path = str(tmp_path / "limits.db")
    procs = [subprocess.Popen([sys.executable, CLIENT, path, "burst", tier.name.value, str(tier.rpm)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True) for _ in range(4)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    Path(path + ".go").touch()
    admitted = [int(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(admitted) == tier.rpm, admitted
    assert sum(1 for a in admitted if a) >= 2, admitted  # they really competed


def test_the_window_survives_a_restart(tmp_path):
    tier = TIERS[TierName.FREE]

    async def go():
        first = SqliteLimiter(tmp_path / "limits.db")
        for _ in range(tier.rpm):
            await first.acquire("t", tier, 1)
        await first.close()
        second = SqliteLimiter(tmp_path / "limits.db")  # a new process would open it the same way
        with pytest.raises(Exception) as err:
            await second.acquire("t", tier, 1)
        await second.acquire("other", tier, 1)
        await second.close()
        return err.value

    err = asyncio.run(go())
    assert err.code == "rate_limited" and err.dimension == "requests" and 0 < err.retry_after <= 60


def test_a_stream_slot_held_by_a_killed_process_is_freed(tmp_path):
    tier = TIERS[TierName.FREE]  # one stream
    path = tmp_path / "limits.db"
    holder = subprocess.Popen([sys.executable, CLIENT, str(path), "stream", tier.name.value], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"

        async def try_stream():
            lim = SqliteLimiter(path)
            try:
                return await lim.acquire("t", tier, 1, stream=True)
            finally:
                await lim.close()

        with pytest.raises(Exception) as err:  # the holder is alive: the slot is taken
            asyncio.run(try_stream())
        assert err.value.dimension == "streams"
        holder.kill()
        holder.wait(10)
        assert asyncio.run(try_stream()).stream_id  # its lease went with it
    finally:
        holder.kill()
        holder.wait(10)
