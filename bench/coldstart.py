"""What the cold-start benches (lambda_cold, functions_cold, cloud_run_cold) measure and report alike,
written once so the three clouds' figures stay comparable: the same bare-interpreter baseline taken
interleaved with the measured children, the same job each child works on, the same median/max
summary, the same -X importtime breakdown. Each bench keeps only what is its cloud's own: the child
script, the peers, the environment the platform deploys, and its figures' wording.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

# How every measured child starts: CPU and wall clocks read before its first import, so `import_ms`
# and `total_ms` mean the same on every cloud. A bench's CHILD is this, then its own cold path.
CHILD_HEAD = """import json, sys, time, asyncio
c0 = time.process_time()
t0 = time.perf_counter()
"""


def parser(importtime: bool = True) -> argparse.ArgumentParser:
    """The options every cold-start bench takes; a bench adds its own to the parser returned."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    if importtime:
        ap.add_argument("--importtime", action="store_true", help="print the 15 slowest imports of one cold child")
    return ap


def bare_ms(python: str, env: dict) -> float:
    """One bare interpreter start (`python -S -c pass`), the baseline a loaded machine moves too."""
    t = time.perf_counter()
    subprocess.run([python, "-S", "-c", "pass"], check=True, env=env)
    return (time.perf_counter() - t) * 1000


def head(runs: int, bare: list[float]) -> dict:
    """The report's opening: how many runs, this interpreter's version, the bare baseline's median."""
    return {"runs": runs, "python": sys.version.split()[0], "bare_interpreter_ms_median": round(statistics.median(bare), 1)}


def child_result(out: subprocess.CompletedProcess, what: str = "child") -> dict:
    """The figures a child printed as its last stdout line; its stderr tail when it failed."""
    if out.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def summarize(runs: list[dict], keys: tuple[str, ...], prefix: str = "") -> dict:
    """`<prefix><key>_median` and `_max` over the runs, rounded to 0.1 ms."""
    report = {}
    for key in keys:
        values = [r[key] for r in runs]
        report[f"{prefix}{key}_median"] = round(statistics.median(values), 1)
        report[f"{prefix}{key}_max"] = round(max(values), 1)
    return report


def slowest_imports(stderr: str, top: int = 15) -> dict:
    """The slowest imports by cumulative time, in ms, from a `-X importtime` child's stderr."""
    rows = [line.split("|") for line in stderr.splitlines() if line.startswith("import time:")][1:]
    ranked = sorted(((int(r[1]), r[2].strip()) for r in rows if len(r) == 3), reverse=True)
    return {name: round(us / 1000, 1) for us, name in ranked[:top]}


def finish(report: dict, as_json: bool, figures: str, target_ms: float = 250) -> int:
    """The verdict (total_ms median against the target) added to the report, then the report printed:
    as JSON, or as the baseline line, the bench's `figures` line and the slowest imports. Exit code
    0 when the target is met."""
    report["target_ms"] = target_ms
    report["met"] = report["total_ms_median"] <= target_ms
    if as_json:
        print(json.dumps(report, indent=2))
        return 0 if report["met"] else 1
    print(f"baseline, same run: bare interpreter (python -S -c pass) {report['bare_interpreter_ms_median']} ms "
          f"(median of {report['runs']})")
    print(f"{figures}; target <= {target_ms:g} ms: {'met' if report['met'] else 'NOT met'}")
    for name, ms in report.get("slowest_imports_cumulative_ms", {}).items():
        print(f"    {ms:8.1f} ms  {name}")
    return 0 if report["met"] else 1


async def warm_store(store, rounds: int = 200) -> None:
    """Warm a job-store peer before anything is measured: `rounds` creates and reads of throwaway jobs.

    Why: the Firestore emulator is a JVM and the Cosmos peer runs on node; both answer their first few
    hundred requests several times slower than later ones while their JIT compiles (on this machine the
    Firestore emulator's REST commit fell from 10-25 ms to about 3.5 ms). The managed services a worker
    talks to in production are long warm, so a peer's own warm-up is not part of our cold start."""
    for _ in range(rounds):
        job = cold_job()
        await store.create(job)
        await store.get(job.id)


def cold_job():
    """The pending job every cold child works on: one short chat request for the `fast` model."""
    from skyrelay.runtime.jobs.model import Job, JobStatus, new_job_id

    now = time.time()
    return Job(id=new_job_id(), tenant="demo-pro", status=JobStatus.PENDING,
               request={"model": "fast", "messages": [{"role": "user", "content": "cold start"}]},
               model="fast", created_at=now, updated_at=now, expires_at=now + 3600)
