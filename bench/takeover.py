"""Takeover benchmark: how long a hung primary costs, with the shipped config (examples/local.yaml).

    .venv/bin/python bench/takeover.py [--rounds 3] [--latency-ms 0]

Starts the provider simulator (`skyrelay simulate`) and `skyrelay serve` with examples/local.yaml
pointed at it (no jobs section), as separate processes, and calls model `fast` (primary fast-bedrock,
secondary fast-openai) with the official openai client, non-streamed (cache off) and streamed:
- baseline: a healthy request's latency, in the same run;
- cold: a fresh server whose primary hangs from its first request (no TTFT sample yet: the hedge
  waits `hedge.initial_s`);
- warm: 20 healthy requests first (the hedge delay is the learned TTFT, at least `hedge.min_s`),
  then the primary hangs;
- until the breaker opens (the hung attempts reach `ttft_s` in the background), then one request
  with the breaker open.
Figures are medians over `--rounds` fresh servers, beside the baseline. The acceptance bound is
< 10 s (the seed's goal); the target < 1 s. A benchmark, not a test.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import openai
import yaml
from loadgen import free_port, wait_port

ROOT = Path(__file__).resolve().parents[1]
PRIMARY = "anthropic.claude-3-haiku-20240307-v1:0"
MESSAGES = [{"role": "user", "content": "one two three"}]
METRICS_KEY = "sk-demo-metrics"  # where examples/local.yaml guards /metrics with a token (api.metrics_keys)


def start(cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "skyrelay.cli.main", *cmd], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def control(sim: str, path: str, body: bytes) -> None:
    req = urllib.request.Request(sim + path, data=body, method="POST", headers={"content-type": "application/json"})
    urllib.request.urlopen(req, timeout=10).close()


def call(client: openai.OpenAI, stream: bool) -> tuple[str, float]:
    """(deployment, seconds) of one completion."""
    t0 = time.perf_counter()
    if stream:
        with client.chat.completions.with_streaming_response.create(model="fast", messages=MESSAGES,
                                                                    stream=True) as resp:
            for _ in resp.parse():
                pass
            return resp.headers["x-skyrelay-deployment"], time.perf_counter() - t0
    raw = client.chat.completions.with_raw_response.create(model="fast", messages=MESSAGES,
                                                           extra_headers={"x-skyrelay-cache": "off"})
    raw.parse()
    return raw.headers["x-skyrelay-deployment"], time.perf_counter() - t0


def breaker_open(url: str) -> bool:
    req = urllib.request.Request(url + "/metrics", headers={"authorization": f"Bearer {METRICS_KEY}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return re.search(r'skyrelay_breaker_state\{deployment="fast-bedrock"\} 2\.0', r.read().decode()) is not None


def one_round(sim: str, tmp: Path, warm: bool) -> dict:
    control(sim, "/_sim/reset", b"{}")
    raw = yaml.safe_load((ROOT / "examples" / "local.yaml").read_text())
    for d in raw["deployments"]:
        d["endpoint"] = sim
    raw.pop("jobs", None)
    raw["limiter"] = {"backend": "memory"}  # one process, a fresh server per round: limits are not measured here
    cfg = tmp / f"router-{os.getpid()}-{time.monotonic_ns()}.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    port = free_port()
    server = start(["serve", "--config", str(cfg), "--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    out: dict = {}
    try:
        wait_port(port)
        client = openai.OpenAI(base_url=url + "/v1", api_key="sk-demo-pro", max_retries=0, timeout=60)
        if warm:
            for stream in (False, True) * 10:
                dep, _ = call(client, stream)
                assert dep == "fast-bedrock", dep
            out["baseline_sync"] = statistics.median(call(client, False)[1] for _ in range(5))
            out["baseline_stream"] = statistics.median(call(client, True)[1] for _ in range(5))
        control(sim, "/_sim/faults", b'{"model": "%s", "fault": "hang"}' % PRIMARY.encode())
        t_hang = time.perf_counter()
        for stream in (False, True):
            dep, took = call(client, stream)
            assert dep == "fast-openai", dep
            out["first_stream" if stream else "first_sync"] = took
        while not breaker_open(url):
            call(client, False)
            if time.perf_counter() - t_hang > 60:
                raise RuntimeError("the breaker never opened")
            time.sleep(0.2)
        out["breaker_open_after"] = time.perf_counter() - t_hang
        out["open_sync"] = call(client, False)[1]
        out["open_stream"] = call(client, True)[1]
    finally:
        stop(server)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--latency-ms", type=float, default=0.0, help="the simulator's latency before the first chunk")
    args = ap.parse_args()
    sim_port = free_port()
    sim = start(["simulate", "--port", str(sim_port), "--latency-ms", str(args.latency_ms)])
    sim_url = f"http://127.0.0.1:{sim_port}"
    try:
        wait_port(sim_port)
        with tempfile.TemporaryDirectory() as tmp:
            rounds = {kind: [one_round(sim_url, Path(tmp), kind == "warm") for _ in range(args.rounds)]
                      for kind in ("cold", "warm")}
    finally:
        stop(sim)

    def med(kind: str, key: str) -> str:
        values = [r[key] for r in rounds[kind] if key in r]
        return f"{statistics.median(values) * 1000:8.1f} ms (max {max(values) * 1000:.1f})"

    print(f"takeover of a hung primary, shipped config, simulator latency {args.latency_ms:g} ms, "
          f"medians of {args.rounds} fresh servers each")
    print(f"  baseline (healthy primary):   non-streamed {med('warm', 'baseline_sync')}   "
          f"streamed {med('warm', 'baseline_stream')}")
    for kind in ("cold", "warm"):
        print(f"  {kind}: first failover answer: non-streamed {med(kind, 'first_sync')}   "
              f"streamed {med(kind, 'first_stream')}")
        print(f"  {kind}: breaker open after {med(kind, 'breaker_open_after')}; then non-streamed "
              f"{med(kind, 'open_sync')}   streamed {med(kind, 'open_stream')}")


if __name__ == "__main__":
    main()
