"""Load generation shared by the benchmarks (bench/jobs.py, bench/router_overhead.py).

- `free_port()` / `wait_port(port)`: a free loopback port, and waiting until a server listens on it.
- `open_loop(...)`: an open-loop POST generator. Sends are spaced evenly at `rate` per second for
  `duration` seconds, each on its own task (a slow answer never delays the next send), and latency
  is measured from the scheduled send time, so queueing inside the target counts. 50 warm-up
  requests first. Returns {"n", "ok", "errors", "rps", "p50", "p99"} (milliseconds).
"""

import asyncio
import socket
import time

import aiohttp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-quantile of an ascending list, in milliseconds (NaN when empty)."""
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))] * 1000


async def open_loop(url: str, body: bytes, headers: dict, rate: int, duration: float, ok_status: int = 200) -> dict:
    lat: list[float] = []
    errors = 0
    n = int(rate * duration)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:
        async def one(t_sched: float):
            nonlocal errors
            try:
                async with s.post(url, data=body, headers=headers) as r:
                    await r.read()
                    if r.status != ok_status:
                        errors += 1
                        return
            except aiohttp.ClientError:
                errors += 1
                return
            lat.append(time.perf_counter() - t_sched)

        await asyncio.gather(*(one(time.perf_counter()) for _ in range(50)))  # warm-up
        lat.clear()
        errors = 0
        tasks = []
        t0 = time.perf_counter()
        for i in range(n):
            t_sched = t0 + i / rate
            delay = t_sched - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(t_sched)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - t0
    lat.sort()
    return {"n": len(lat) + errors, "ok": len(lat), "errors": errors, "rps": len(lat) / elapsed,
            "p50": percentile(lat, 0.5), "p99": percentile(lat, 0.99)}
