"""A process that uses a SQLite limiter file, for tests/limits/test_sqlite.py.

    python tests/limits/sqlite_client.py PATH burst TIER N     # prints "ready", waits for PATH.go, makes N
                                                               # acquires, prints how many were admitted
    python tests/limits/sqlite_client.py PATH stream TIER      # holds a stream slot until killed
"""

import asyncio
import sys
from pathlib import Path

from skyrelay.runtime.router.limits.sqlite import SqliteLimiter
from skyrelay.tiers import TierName, default_tiers


async def main(path: str, mode: str, tier_name: str, n: int) -> None:
    tier = default_tiers()[TierName(tier_name)]
    lim = SqliteLimiter(path)
    if mode == "stream":
        await lim.acquire("t", tier, 1, stream=True)
        print("holding", flush=True)
        await asyncio.sleep(3600)
    print("ready", flush=True)
    go = Path(path + ".go")
    while not go.exists():  # all processes start together, so they really compete for the lock
        await asyncio.sleep(0.001)
    admitted = 0
    for _ in range(n):
        try:
            await lim.acquire("t", tier, 1)
            admitted += 1
        except Exception as exc:
            assert getattr(exc, "code", None) == "rate_limited", exc
    await lim.close()
    print(admitted, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 0))
