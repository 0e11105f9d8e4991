"""Building and splitting one provider batch job of 50,000 records (Bedrock's maximum per job) with the
runtime's own code, on SQLite and a local directory, against a stand-in Bedrock control plane that
answers at once (so the figures are skyrelay's work, not a provider's):

- build: `POST /v1/batches`' work (every line checked, split into chunks per deployment) plus the
  batcher's tick that claims the chunks and writes the provider's JSONL input (`groups.py`);
- split: the tick that reads the provider's output (50,000 lines, shuffled) and maps every line back to
  its request (`results.py`), then writes the batch's output file (`finalize.py`).

Printed beside a baseline measured in the same run: a bare `orjson.loads` + `orjson.dumps` pass over the
same lines (the floor of any JSONL pass). Each phase also prints its CPU time (this process, all its
threads), the figure to read when other work loads the machine: the target is on the wall time. Peak memory is measured in a second, traced run (tracemalloc's
peak of Python allocations during each phase, so the timed run is not slowed), next to the input file's
size: a phase that held the file whole (parsed) would peak at several times its size.
The cost saved is what the same usage costs on demand minus the batch price.

    .venv/bin/python bench/batch.py [--records 50000]   # target: build <= 2 s and split <= 2 s
"""

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_S = 2.0


class StandInBedrock:
    """Answers CreateModelInvocationJob and GetModelInvocationJob at once, as the translator expects."""

    def __init__(self):
        self.state = "InProgress"
        self.created = 0

    async def send(self, upstream, call, what):
        if call.method == "POST" and call.url.endswith("/model-invocation-job"):
            self.created += 1
            return orjson.dumps({"jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/bench"})
        return orjson.dumps({"status": self.state})

    async def close(self):
        return None


def peak_mb(trace: bool) -> float:
    """The traced peak since the last call (0 when not tracing), in MB."""
    if not trace:
        return 0.0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.reset_peak()
    return peak


def write_input(path: Path, n: int) -> None:
    with open(path, "wb") as f:
        for i in range(n):
            f.write(orjson.dumps({"custom_id": f"req-{i}", "method": "POST", "url": "/v1/chat/completions",
                                  "body": {"model": "fast", "max_tokens": 64,
                                           "messages": [{"role": "system", "content": "You summarise tickets."},
                                                        {"role": "user", "content": f"ticket {i}: " + "words " * 40}]}})
                    + b"\n")


def baseline(path: Path) -> float:
    t0 = time.perf_counter()
    with open(path, "rb") as f, open(os.devnull, "wb") as out:
        for raw in f:
            out.write(orjson.dumps(orjson.loads(raw)) + b"\n")
    return time.perf_counter() - t0


async def provider_output(rig, bedrock_out_key: str, n: int) -> None:
    """What Bedrock writes: one output line per record, shuffled."""
    rows = [orjson.dumps({"recordId": str(i), "modelOutput": {
        "content": [{"type": "text", "text": "a short summary of the ticket"}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 60, "output_tokens": 24}}}) + b"\n" for i in range(n)]
    random.Random(1).shuffle(rows)
    await rig.storage.put(bedrock_out_key, b"".join(rows))


async def run(n: int, trace: bool) -> dict:
    from skyrelay.runtime.batch import records as rec
    from skyrelay.runtime.batch.batcher import Batcher
    from skyrelay.runtime.config import parse_config
    from skyrelay.runtime.jobs.config import JobsConfig
    from skyrelay.runtime.jobs.wiring import build_service
    from skyrelay.runtime.router.router import Router

    tmp = Path(tempfile.mkdtemp(prefix="skyrelay-bench-batch-"))
    config = parse_config({
        "deployments": [{"name": "fast-bedrock", "model": "fast", "provider": "bedrock", "auth": "none",
                         "upstream_model": "anthropic.claude-3-haiku-20240307-v1:0", "endpoint": "http://127.0.0.1:9",
                         "price": {"input": 0.00025, "output": 0.00125},
                         "batch": {"max_wait_s": 0, "role_arn": "arn:aws:iam::123456789012:role/batch"}}],
        "models": {"fast": {"deployments": ["fast-bedrock"]}},
        "tenants": [{"name": "ent", "tier": "enterprise"}], "limiter": {"backend": "memory"},
        "cache": {"enabled": False}})
    cfg = JobsConfig.model_validate({"store": {"path": str(tmp / "jobs.db")},
                                     "batch": {"storage": {"backend": "local", "options": {"root": str(tmp / "obj")}}}})
    router = Router(config)
    jobs = build_service(config, router, cfg=cfg)
    service = jobs.batches
    bedrock = StandInBedrock()
    batcher = Batcher(jobs.store, jobs.queue, service.storage, cfg, config, transport=bedrock)
    tenant = config.tenants[0]
    path = tmp / "input.jsonl"
    write_input(path, n)
    size_mb = path.stat().st_size / 2**20
    c0 = time.process_time()
    floor = baseline(path)
    cpu_floor = time.process_time() - c0

    if trace:
        tracemalloc.start()
    peak_mb(trace)
    t0 = time.perf_counter()
    f = await service.upload_file(tenant, "batch", "input.jsonl", str(path), path.stat().st_size)
    t_upload = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    b = await service.create(tenant, {"input_file_id": f.id, "endpoint": "/v1/chat/completions",
                                      "completion_window": "24h"})
    t_split_in = time.perf_counter() - t0
    t0 = time.perf_counter()
    await batcher.tick()  # form, claim, write the provider input, submit
    t_input = time.perf_counter() - t0
    cpu_build = time.process_time() - c0
    mem_build = peak_mb(trace)
    build = t_split_in + t_input

    [marker] = await service.storage.list("open")
    gid = marker.rsplit("/", 1)[1]
    group = await jobs.store.get(gid)
    assert group.attempts == rec.RUNNING and bedrock.created == 1, group
    await provider_output(batcher, f"groups/{gid}/output/bench/input.jsonl.out", n)
    bedrock.state = "Completed"
    peak_mb(trace)
    t0, c0 = time.perf_counter(), time.process_time()
    await batcher.tick()  # poll, apply (map every line back), finalize the batch's output file
    split = time.perf_counter() - t0
    cpu_split = time.process_time() - c0
    mem_split = peak_mb(trace)
    if trace:
        tracemalloc.stop()
    done = await service.get(tenant.name, b.id)
    group = await jobs.store.get(gid)
    counts = done.result["request_counts"]
    assert counts == {"total": n, "completed": n, "failed": 0}, counts
    saved = group.result["on_demand_cost"] - group.result["cost"]

    await batcher.close()
    await router.aclose()
    await jobs.store.close()
    await jobs.queue.close()
    return {"n": n, "size_mb": size_mb, "jobs": bedrock.created, "floor": floor, "upload": t_upload,
            "split_in": t_split_in, "input": t_input, "build": build, "split": split, "mem_build": mem_build,
            "cpu_build": cpu_build, "cpu_split": cpu_split, "cpu_floor": cpu_floor,
            "mem_split": mem_split, "cost": group.result["cost"], "on_demand": group.result["on_demand_cost"],
            "saved": saved}


async def main(n: int) -> int:
    r = await run(n, trace=False)
    m = await run(n, trace=True)
    print(f"records: {n:,}  input file: {r['size_mb']:.1f} MB  provider jobs: {r['jobs']}")
    print(f"baseline (orjson loads+dumps of every line): {r['floor']:.2f} s  (cpu {r['cpu_floor']:.2f} s)")
    print(f"upload check (every line validated):         {r['upload']:.2f} s")
    print(f"build (batch create: check + split into chunks {r['split_in']:.2f} s, tick: claim + provider input "
          f"{r['input']:.2f} s): {r['build']:.2f} s, cpu {r['cpu_build']:.2f} s  (target <= {TARGET_S:.0f} s: "
          f"{'met' if r['build'] <= TARGET_S else 'NOT met'})")
    print(f"split (tick: output mapped back to {n:,} lines + output file): {r['split']:.2f} s, "
          f"cpu {r['cpu_split']:.2f} s  "
          f"(target <= {TARGET_S:.0f} s: {'met' if r['split'] <= TARGET_S else 'NOT met'})")
    print(f"peak traced memory: build {m['mem_build']:.1f} MB, split {m['mem_split']:.1f} MB "
          f"(input file {r['size_mb']:.1f} MB)")
    print(f"cost at the batch price: ${r['cost']:.4f}; on demand: ${r['on_demand']:.4f}; "
          f"saved: ${r['saved']:.4f} ({100 * r['saved'] / r['on_demand']:.0f}%)")
    return 0 if r["build"] <= TARGET_S and r["split"] <= TARGET_S else 1


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=50_000)
    raise SystemExit(asyncio.run(main(ap.parse_args().records)))
