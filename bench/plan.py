"""Offline plan benchmark: wall time and peak memory of rendering each stack, cold and warm.

Each stack is measured in a fresh interpreter: the first render is "cold" (imports included), the
median of the next renders is "warm". The baseline, measured in the same run the same way, is a
one-resource program: the harness floor. Ratios to it say what the stacks themselves cost.
Target: warm render of one stack under 2 s.

Run: .venv/bin/python bench/plan.py [--repeat 5]
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, resource, statistics, sys, time
t0 = time.perf_counter()
from skyrelay.plan import render_program, render_stack
kind, target, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
def once():
    if kind == "stack":
        return render_stack(target, sys.argv[4])[0]
    return render_program(target, {})
plan = once()
cold = time.perf_counter() - t0
rss_cold = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
warm = []
for _ in range(repeat):
    t = time.perf_counter(); once(); warm.append(time.perf_counter() - t)
print(json.dumps({"resources": len(plan.resources), "cold_s": cold, "warm_s": statistics.median(warm),
                  "rss_cold_mb": rss_cold, "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(kind: str, target: str, repeat: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, kind, target, str(repeat), str(ROOT)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    stacks = sorted(p.name.split(".")[1] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "__main__.py").write_text("import pulumi_aws as aws\naws.sqs.Queue('q')\n")
        rows = [("baseline (1 resource)", measure("program", tmp, args.repeat))]
    rows += [(s, measure("stack", s, args.repeat)) for s in stacks]
    base = rows[0][1]
    header = f"{'target':24} {'res':>4} {'cold s':>7} {'warm s':>7} {'warm/base':>9} {'RSS cold MB':>11} {'RSS peak MB':>11} {'peak/base':>9}"
    print(header)
    print("-" * len(header))
    for name, m in rows:
        print(
            f"{name:24} {m['resources']:>4} {m['cold_s']:>7.2f} {m['warm_s']:>7.3f} {m['warm_s'] / base['warm_s']:>9.1f}"
            f" {m['rss_cold_mb']:>11.0f} {m['rss_peak_mb']:>11.0f} {m['rss_peak_mb'] / base['rss_peak_mb']:>9.2f}"
        )
    slow = [name for name, m in rows[1:] if m["warm_s"] >= 2.0]
    print(f"\ntarget warm < 2 s per stack: {'MET' if not slow else 'MISSED by ' + ', '.join(slow)}")


if __name__ == "__main__":
    main()
