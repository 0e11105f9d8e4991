"""Router overhead benchmark: nginx (direct) vs a minimal pass-through proxy vs `skyrelay serve`.

    .venv/bin/python bench/router_overhead.py [--duration 6] [--runs 2] [--workers 2]

All three targets front the same zero-latency nginx upstream (a canned chat.completion). Modes:
open loop at 100/300/1000 RPS (an asyncio generator that spaces sends evenly and measures from the
scheduled send time), closed loop at 16 and 64 connections (wrk), and SSE (`stream: true` against nginx's
canned stream at /sse/...) closed loop at 1 and 16 connections. Reports p50, p99, errors,
achieved RPS, CPU-ms per request (from /proc of each server's process tree) and RSS, with added
latency and throughput ratios against the pass-through proxy. A benchmark, not a test.
"""

import argparse
import asyncio
import base64
import contextlib
import hashlib
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson
import psutil
import yaml
from loadgen import free_port, open_loop, wait_port

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-bench"
BODY = b'{"model":"fast","messages":[{"role":"user","content":"Say hello in five words."}],"max_tokens":64}'
# SSE mode: nginx serves a canned stream at /sse/v1/chat/completions; the router's `fast-sse` model points there.
SSE_BODY = (b'{"model":"fast-sse","stream":true,"messages":[{"role":"user","content":"Say hello in five words."}],'
            b'"max_tokens":64}')


# Tool-call and embeddings rows (issue 17): skyrelay only, closed loop, against the plain chat row of the same
# run. The tool request offers one tool and nginx answers a streamed tool call; the embeddings request embeds
# one sentence and nginx answers a 1,536-dimension vector.
TOOL = {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                        "required": ["city"]}}}
TOOLS_BODY = orjson.dumps({"model": "fast-tools", "max_tokens": 64, "tools": [TOOL],
                           "messages": [{"role": "user", "content": "Weather in Paris? Use get_weather."}]})
# As the openai SDK sends it (base64 is its default); skyrelay asks the upstream for base64 too.
EMBED_BODY = b'{"model":"embed","input":"Say hello in five words.","encoding_format":"base64"}'


def embedding_file(tmp: Path) -> None:
    rng = random.Random(1)
    vec = [rng.uniform(-0.1, 0.1) for _ in range(1536)]
    b64 = base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()
    path = tmp / "static" / "v1" / "embeddings"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps({"object": "list", "model": "bench", "usage": {"prompt_tokens": 6, "total_tokens": 6},
                                   "data": [{"object": "embedding", "index": 0, "embedding": b64}]}))


def start_nginx(tmp: Path) -> tuple[subprocess.Popen, int]:
    embedding_file(tmp)
    port = free_port()
    conf = (ROOT / "bench" / "nginx.conf.template").read_text().replace("{prefix}", str(tmp)).replace("{port}", str(port))
    (tmp / "nginx.conf").write_text(conf)
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = subprocess.Popen([exe, "-p", str(tmp), "-c", str(tmp / "nginx.conf")], start_new_session=True)
    wait_port(port)
    return proc, port


def router_config(tmp: Path, upstream: str, sync_upstream: str = "stream") -> Path:
    # The router reads non-streamed answers from an upstream stream (timeouts.stream_sync, the default):
    # then `fast` points at nginx's canned stream; with `--sync-upstream json`, at the canned JSON.
    fast = upstream + "/sse" if sync_upstream == "stream" else upstream
    cfg = {
        "deployments": [
            {"name": "primary", "model": "fast", "provider": "openai_compat", "upstream_model": "bench",
             "endpoint": fast, "auth": "none", "price": {"input": 0.00015, "output": 0.0006},
             "capabilities": ["fast"], "context_window": 128000},
            {"name": "secondary", "model": "fast", "provider": "openai_compat", "upstream_model": "bench",
             "endpoint": fast, "auth": "none", "price": {"input": 0.0002, "output": 0.0008}},
            {"name": "sse", "model": "fast-sse", "provider": "openai_compat", "upstream_model": "bench",
             "endpoint": upstream + "/sse", "auth": "none", "price": {"input": 0.00015, "output": 0.0006}},
            {"name": "tools", "model": "fast-tools", "provider": "openai_compat", "upstream_model": "bench",
             "endpoint": upstream + "/tools/sse", "auth": "none", "price": {"input": 0.00015, "output": 0.0006},
             "capabilities": ["tools"]},
            {"name": "embed", "model": "embed", "provider": "openai_compat", "upstream_model": "bench",
             "endpoint": upstream, "auth": "none", "price": {"input": 0.00002}, "capabilities": ["embeddings"]},
        ],
        "models": {"fast": {"strategy": "priority", "deployments": ["primary", "secondary"]},
                   "fast-sse": {"strategy": "priority", "deployments": ["sse"]},
                   "fast-tools": {"strategy": "priority", "deployments": ["tools"]},
                   "embed": {"strategy": "priority", "deployments": ["embed"]}},
        "tenants": [{"name": "bench", "tier": "enterprise", "api_keys": [hashlib.sha256(KEY.encode()).hexdigest()]}],
        # Limits stay on (memory backend); the numbers are raised so the load is never refused.
        "tier_overrides": {"enterprise": {"rpm": 100_000_000, "tpm": 10**12}},
        "limiter": {"backend": "memory"},
        "cache": {"enabled": False},  # every request goes upstream
        "timeouts": {"stream_sync": sync_upstream == "stream"},
    }
    path = tmp / "router.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def start_target(kind: str, upstream_port: int, tmp: Path, workers: int,
                 placement: str = "reuseport", sync_upstream: str = "stream") -> tuple[subprocess.Popen, int]:
    port = free_port()
    upstream = f"http://127.0.0.1:{upstream_port}"
    env = {**os.environ}
    if kind == "passthrough":
        env["UPSTREAM"] = upstream
        cmd = [sys.executable, "-m", "bench.passthrough_proxy", "--port", str(port), "--workers", str(workers),
               "--placement", placement]
    else:
        cmd = [sys.executable, "-m", "skyrelay.cli.main", "serve", "--config",
               str(router_config(tmp, upstream, sync_upstream)),
               "--port", str(port), "--workers", str(workers), "--placement", placement]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
    wait_port(port)
    time.sleep(1.5)  # every worker up
    return proc, port


def tree(pid: int) -> list[psutil.Process]:
    p = psutil.Process(pid)
    return [p, *p.children(recursive=True)]


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in tree(pid):
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def rss_mb(pid: int) -> float:
    return sum(p.memory_info().rss for p in tree(pid)) / 2**20


def worker_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each worker (the children of the supervisor; the process itself when it has none)."""
    procs = psutil.Process(pid).children(recursive=True) or [psutil.Process(pid)]
    out = {}
    for p in procs:
        try:
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return out


def worker_conns(pid: int, port: int) -> dict[int, int]:
    """Established client connections to `port` held by each worker process (where connections landed)."""
    procs = psutil.Process(pid).children(recursive=True) or [psutil.Process(pid)]
    out = {}
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            out[p.pid] = sum(1 for c in p.net_connections("tcp")
                             if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port)
    return out


def split(values: dict[int, float], pids: list[int]) -> str:
    """Per-worker shares in percent, workers in pid order, e.g. "52/48"."""
    total = sum(values.get(p, 0) for p in pids)
    if len(pids) < 2 or total <= 0:
        return "-"
    return "/".join(f"{100 * values.get(p, 0) / total:.0f}" for p in pids)


WRK_LUA = """wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
"""


def _ms(v: str, unit: str) -> float:
    return float(v) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def closed_loop(url: str, conns: int, duration: float, tmp: Path, body: bytes = BODY) -> dict:
    script = tmp / "post.lua"
    script.write_text(WRK_LUA.format(body=body.decode(), key=KEY))
    out = subprocess.run(["wrk", f"-t{min(2, conns)}", f"-c{conns}", f"-d{int(duration)}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True).stdout
    pct = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    def parse(s: str) -> float:
        m = re.match(r"([\d.]+)(\w+)", s)
        return _ms(m.group(1), m.group(2))
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return {"n": reqs, "ok": reqs - errors, "errors": errors,
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": parse(pct["50"]), "p99": parse(pct["99"])}


MODES = [("open", 100), ("open", 300), ("open", 1000), ("closed", 16), ("closed", 64), ("sse", 1), ("sse", 16),
         ("tools", 16), ("embed", 16)]
SKYRELAY_ONLY = ("tools", "embed")  # no pass-through or direct counterpart: compared with skyrelay's chat row


def measure(kind, pid, port, mode, arg, duration, tmp) -> dict:
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    headers = {"content-type": "application/json", "authorization": f"Bearer {KEY}"}
    c0, t0 = (cpu_seconds(pid) if pid else 0.0), time.perf_counter()
    w0 = worker_cpu(pid) if pid else {}
    conns: dict[int, int] = {}

    def sample() -> None:  # where the load generator's connections landed, mid-run
        conns.update(worker_conns(pid, port))

    timer = threading.Timer(duration / 2, sample)
    if pid and kind != "direct":
        timer.start()
    if mode == "open":
        res = asyncio.run(open_loop(url, BODY, headers, arg, duration))
    elif mode == "tools":
        res = closed_loop(url, arg, duration, tmp, TOOLS_BODY)
    elif mode == "embed":
        res = closed_loop(f"http://127.0.0.1:{port}/v1/embeddings", arg, duration, tmp, EMBED_BODY)
    elif mode == "sse":  # closed loop over streamed completions (SSE), at 1 and 16 connections
        if kind != "skyrelay":
            url = f"http://127.0.0.1:{port}/sse/v1/chat/completions"
        res = closed_loop(url, arg, duration, tmp, SSE_BODY)
    else:
        res = closed_loop(url, arg, duration, tmp)
    timer.cancel()
    if timer.is_alive():
        timer.join()
    cpu = cpu_seconds(pid) - c0 if pid else float("nan")
    res["cpu_ms"] = cpu * 1000 / max(1, res["n"])
    res["cores"] = cpu / (time.perf_counter() - t0)  # CPU the target got: ~2 when saturated on this box
    w1 = worker_cpu(pid) if pid else {}
    pids = sorted(p for p in w1 if w1[p] - w0.get(p, w1[p]) > 0.001 or conns.get(p)) if kind != "direct" else []
    # Per-worker CPU share (of the workers' CPU in this row) and connection share, e.g. "cpu 51/49 conns 8/8".
    res["workers"] = (f"cpu {split({p: w1[p] - w0.get(p, 0) for p in pids}, pids)} "
                      f"conns {split(conns, pids)}" if len(pids) > 1 else "-")
    res["rss"] = rss_mb(pid) if pid else float("nan")
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=6)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--placement", default="reuseport", choices=("reuseport", "shared"),
                    help="worker placement for both Python targets (skyrelay serve --placement)")
    ap.add_argument("--modes", default="open,closed,sse,tools,embed",
                    help="comma-separated subset of open, closed, sse, tools, embed (tools and embed: skyrelay only, "
                         "their CPU per request against the closed-loop chat row at 16 connections)")
    ap.add_argument("--sync-upstream", default="stream", choices=("stream", "json"),
                    help="how skyrelay reads non-streamed answers: from an upstream stream (timeouts.stream_sync, "
                         "the default) or as one JSON body")
    args = ap.parse_args()
    modes = [(m, a) for m, a in MODES if m in args.modes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="skyrelay-bench-"))
    procs = []
    try:
        nginx, nport = start_nginx(tmp)
        procs.append(nginx)
        pp, pport = start_target("passthrough", nport, tmp, args.workers, args.placement)
        procs.append(pp)
        sp, sport = start_target("skyrelay", nport, tmp, args.workers, args.placement, args.sync_upstream)
        print(f"skyrelay reads non-streamed answers as: {args.sync_upstream}")
        print(f"{args.workers} workers per Python target, placement: {args.placement} "
              f"({'one SO_REUSEPORT socket per worker' if args.placement == 'reuseport' else 'one shared socket'}, "
              "the same for the pass-through proxy and skyrelay)")
        procs.append(sp)
        targets = [("direct", nginx.pid, nport), ("passthrough", pp.pid, pport), ("skyrelay", sp.pid, sport)]
        rows = []
        extended = [m for m in modes if m[0] in SKYRELAY_ONLY]
        modes = [m for m in modes if m[0] not in SKYRELAY_ONLY]
        for run in range(1, args.runs + 1):
            if extended:
                extended_rows(run, sp.pid, sport, extended, args.duration, tmp)
            for mode, arg in modes:
                results = {}
                for name, pid, port in targets:  # interleaved, same offered load, same run
                    results[name] = measure(name, pid, port, mode, arg, args.duration, tmp)
                rows.append((run, mode, arg, results))
                print_rows([rows[-1]], header=len(rows) == 1)
        print()
        print("Summary (added = target p50/p99 minus direct at the same load in the same run):")
        for run, mode, arg, r in rows:
            sk, pt, d = r["skyrelay"], r["passthrough"], r["direct"]
            print(f"  run {run} {mode:6} {arg:>5}: skyrelay added p50 {sk['p50'] - d['p50']:6.2f} ms "
                  f"(passthrough {pt['p50'] - d['p50']:5.2f}); p99 ratio vs passthrough {sk['p99'] / pt['p99']:5.2f}; "
                  f"RPS ratio {sk['rps'] / pt['rps']:5.2f}; CPU-ms/req {sk['cpu_ms']:.3f} (passthrough {pt['cpu_ms']:.3f}); "
                  f"RSS {sk['rss']:.0f} MB; per-worker {sk['workers']} (passthrough {pt['workers']})")
    finally:
        for p in reversed(procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(p.pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)


def extended_rows(run: int, pid: int, port: int, modes, duration: float, tmp: Path, reps: int = 3) -> None:
    """skyrelay's CPU per request for a tool call and an embedding against plain chat, in short alternating
    slices (chat, tools, embed, chat, ...), so all three see the same share of a shared box; the ratio per
    repetition is against the chat slice just before it, and the median of the repetitions is reported."""
    slice_s = max(2.0, duration / reps)
    ratios: dict[str, list[float]] = {m: [] for m, _ in modes}
    for mode, arg in [("closed", 16), *modes]:  # warm-up, not counted (first connections, lazy imports)
        measure("skyrelay", pid, port, mode, arg, 2.0, tmp)
    for rep in range(reps):
        chat = measure("skyrelay", pid, port, "closed", 16, slice_s, tmp)
        for mode, arg in modes:
            r = measure("skyrelay", pid, port, mode, arg, slice_s, tmp)
            if not (r["n"] and chat["n"]):
                print(f"  run {run} rep {rep + 1}: {mode} or chat made no request; not counted", flush=True)
                continue
            ratios[mode].append(r["cpu_ms"] / chat["cpu_ms"])
            print(f"  run {run} rep {rep + 1}: chat {chat['cpu_ms']:.3f} CPU-ms/req ({chat['cores']:.2f} cores), "
                  f"{mode} {r['cpu_ms']:.3f} ({r['cores']:.2f} cores, {r['rps']:.0f} RPS, {r['errors']} errors): "
                  f"{ratios[mode][-1]:.2f}x", flush=True)
    for mode, values in ratios.items():
        if not values:
            continue
        values.sort()
        print(f"  run {run} {mode}: CPU per request {values[len(values) // 2]:.2f}x plain chat (median of {reps}; "
              f"range {values[0]:.2f}-{values[-1]:.2f}; target <= 1.3x)", flush=True)


def print_rows(rows, header=False) -> None:
    if header:
        print(f"{'run':>3} {'mode':>6} {'load':>5} {'target':>12} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} "
              f"{'RPS':>9} {'CPU-ms/req':>10} {'cores':>5} {'RSS MB':>7}  per-worker share % (CPU, connections)")
    for run, mode, arg, results in rows:
        for name, r in results.items():
            print(f"{run:>3} {mode:>6} {arg:>5} {name:>12} {r['p50']:8.2f} {r['p99']:8.2f} {r['errors']:6d} "
                  f"{r['rps']:9.0f} {r['cpu_ms']:10.3f} {r['cores']:5.2f} {r['rss']:7.0f}  {r['workers']}", flush=True)


if __name__ == "__main__":
    main()
