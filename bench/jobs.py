"""Async jobs benchmark (local mode): submit latency at an offered rate, and end-to-end jobs/s.

    .venv/bin/python bench/jobs.py [--rate 300] [--duration 10] [--jobs 3000]

Starts, as separate processes on loopback:
- the provider simulator at zero latency (`skyrelay simulate`);
- `skyrelay serve` with a jobs section: the API, and `--workers` job worker processes beside it
  (`--in-process`: the workers in the API's event loop instead), over SQLite (WAL);
- the pass-through proxy (bench/passthrough_proxy.py: uvicorn + one aiohttp session) in front of
  the same simulator: the tail-latency floor for a Python service on this machine.

1. Submit latency: open loop (sends spaced evenly, latency measured from the scheduled send time)
   at `--rate` RPS for `--duration` s against POST /v1/jobs, and in the same run against the proxy.
   The worker keeps draining the queue meanwhile, as it would in production.
2. End to end: `--jobs` jobs submitted by 64 concurrent clients; jobs/s = jobs / (last COMPLETE -
   first submit), read from the SQLite file.
Targets (issue 4): submit p50 <= 3 ms, p99 <= 3x the proxy's p99, >= 500 jobs/s. A benchmark, not a test.
"""

import argparse
import asyncio
import hashlib
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import yaml
from loadgen import free_port, open_loop, wait_port

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-bench"
JOB = b'{"model":"fast","prompt":"Say hello in five words.","max_tokens":64}'
CHAT = b'{"model":"bench","messages":[{"role":"user","content":"Say hello in five words."}],"max_tokens":64}'


def start(cmd: list[str], port: int, env: dict | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, start_new_session=True,
                            stdout=subprocess.DEVNULL)
    wait_port(port)
    time.sleep(0.5)
    return proc


def config(tmp: Path, sim: str, workers: int, concurrency: int, in_process: bool = False) -> Path:
    cfg = {
        "deployments": [{"name": "primary", "model": "fast", "provider": "openai_compat", "upstream_model": "bench",
                         "endpoint": sim, "auth": "none", "price": {"input": 0.00015, "output": 0.0006}}],
        "models": {"fast": {"deployments": ["primary"]}},
        "tenants": [{"name": "bench", "tier": "enterprise", "api_keys": [hashlib.sha256(KEY.encode()).hexdigest()]}],
        "tier_overrides": {"enterprise": {"rpm": 100_000_000, "tpm": 10**12}},  # never refuse the load
        "cache": {"enabled": False},
        "jobs": {"store": {"path": str(tmp / "jobs.db")},
                 "queue": {"max_depth": 1_000_000},
                 "worker": {"workers": workers, "concurrency": concurrency, "poll_interval_s": 0.01,
                            "in_process": in_process}},
    }
    path = tmp / "jobs.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def completed(db: Path) -> int:
    with sqlite3.connect(db, timeout=30) as c:
        return c.execute("SELECT COUNT(*) FROM jobs WHERE status='COMPLETE'").fetchone()[0]


async def end_to_end(url: str, db: Path, n: int, clients: int = 64) -> dict:
    before = completed(db)
    headers = {"authorization": f"Bearer {KEY}", "content-type": "application/json"}
    t0 = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:
        left = iter(range(n))

        async def client():
            for _ in left:
                async with s.post(url, data=JOB, headers=headers) as r:
                    await r.read()

        await asyncio.gather(*(client() for _ in range(clients)))
    t_submitted = time.perf_counter() - t0
    while completed(db) - before < n:
        await asyncio.sleep(0.02)
        if time.perf_counter() - t0 > 300:
            break
    elapsed = time.perf_counter() - t0
    done = completed(db) - before
    return {"jobs": done, "seconds": elapsed, "jobs_per_s": done / elapsed, "submit_per_s": n / t_submitted}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=300)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--jobs", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=1, help="job worker processes")
    ap.add_argument("--in-process", action="store_true", help="run the workers in the API's event loop")
    ap.add_argument("--concurrency", type=int, default=16, help="jobs in flight per worker")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="skyrelay-bench-jobs-"))
    procs = []
    try:
        sim_port = free_port()
        procs.append(start([sys.executable, "-m", "skyrelay.cli.main", "simulate", "--port", str(sim_port)], sim_port))
        sim = f"http://127.0.0.1:{sim_port}"
        api_port, proxy_port = free_port(), free_port()
        procs.append(start([sys.executable, "-m", "skyrelay.cli.main", "serve", "--config",
                            str(config(tmp, sim, args.workers, args.concurrency, args.in_process)), "--port", str(api_port)], api_port))
        procs.append(start([sys.executable, "-m", "uvicorn", "--factory", "bench.passthrough_proxy:make_app", "--port",
                            str(proxy_port), "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
                            "--no-access-log"], proxy_port, {"UPSTREAM": sim}))
        auth = {"authorization": f"Bearer {KEY}", "content-type": "application/json"}
        submit = asyncio.run(open_loop(f"http://127.0.0.1:{api_port}/v1/jobs", JOB, auth, args.rate, args.duration, 202))
        proxy = asyncio.run(open_loop(f"http://127.0.0.1:{proxy_port}/v1/chat/completions", CHAT,
                                      {"content-type": "application/json"}, args.rate, args.duration, 200))
        time.sleep(1)
        e2e = asyncio.run(end_to_end(f"http://127.0.0.1:{api_port}/v1/jobs", tmp / "jobs.db", args.jobs)) \
            if args.jobs else {"jobs": 0, "seconds": 1, "jobs_per_s": 0, "submit_per_s": 0}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    print(f"\nsubmit latency, open loop at {args.rate} RPS for {args.duration:g} s (machine: {os.cpu_count()} CPUs)")
    print(f"  {'target':<26}{'ok':>7}{'err':>6}{'rps':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for name, r in (("POST /v1/jobs (local)", submit), ("pass-through proxy", proxy)):
        print(f"  {name:<26}{r['ok']:>7}{r['errors']:>6}{r['rps']:>9.1f}{r['p50']:>9.2f}{r['p99']:>9.2f}")
    ratio = submit["p99"] / proxy["p99"] if proxy["p99"] else float("nan")
    print(f"  submit p99 / proxy p99 = {ratio:.2f}x   (targets: p50 <= 3 ms, ratio <= 3x)")
    mode = "in process" if args.in_process else "process(es)"
    print(f"\nend to end: {e2e['jobs']} jobs in {e2e['seconds']:.2f} s = {e2e['jobs_per_s']:.0f} jobs/s "
          f"(submits at {e2e['submit_per_s']:.0f}/s; {args.workers} worker {mode} x {args.concurrency} in flight; "
          f"target >= 500 jobs/s)")


if __name__ == "__main__":
    main()
