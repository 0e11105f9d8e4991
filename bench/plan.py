"""Offline plan benchmark: wall time and peak memory of rendering each stack, cold and warm, and the
warm render of aws-dev against the same code at a baseline git ref, measured in the same run.

Each measurement is a fresh interpreter: the first render is "cold" (imports included), the median
of the next renders is "warm". Two baselines, both measured here and now:

- a one-resource program: the harness floor (ratios to it say what the stacks themselves cost);
- `--baseline-ref` (default `main`): that commit's own plan code, extracted with `git archive` and
  imported in place of this tree's, renders aws-dev the same way. Runs alternate between the two so
  machine load hits both alike. Target: this tree's warm aws-dev render no worse (ratio <= 1.10,
  the run-to-run noise measured on this 2-core machine).

Run: .venv/bin/python bench/plan.py [--repeat 5] [--rounds 3] [--baseline-ref main]
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, resource, statistics, sys, time
tree = sys.argv[5]
if tree:  # import skyrelay from another source tree, laid out as the editable install maps it
    import importlib.util
    from importlib.machinery import PathFinder
    from pathlib import Path
    mapping = json.loads(sys.argv[6])

    class Baseline:
        @classmethod
        def find_spec(cls, fullname, path=None, target=None):
            if fullname in mapping:
                folder = Path(mapping[fullname])
                return importlib.util.spec_from_file_location(
                    fullname, folder / "__init__.py", submodule_search_locations=[str(folder)])
            return None

    sys.meta_path.insert(0, Baseline)
t0 = time.perf_counter()
from skyrelay.plan import render_program, render_stack
kind, target, repeat, root = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
import skyrelay.plan
assert not tree or skyrelay.plan.__file__.startswith(tree), skyrelay.plan.__file__
def once():
    if kind == "stack":
        return render_stack(target, root)[0]
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


def measure(kind: str, target: str, repeat: int, root: Path = ROOT, tree: Path | None = None) -> dict:
    mapping = {}
    if tree is not None:
        package_dir = tomllib.loads((tree / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
        mapping = {package: str(tree / folder) for package, folder in package_dir.items()}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, kind, target, str(repeat), str(root), str(tree or ""), json.dumps(mapping)],
        capture_output=True, text=True, check=True, cwd=root,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def extract(ref: str, into: Path) -> Path:
    """The tree at `ref`, with this tree's Lambda build cache (same runtime inputs, no rebuild)."""
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    cache = ROOT / "build" / "lambda"
    if cache.is_dir():
        shutil.copytree(cache, into / "build" / "lambda")
    return into


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="alternating baseline/current aws-dev runs")
    parser.add_argument("--baseline-ref", default="main")
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

    with tempfile.TemporaryDirectory() as tmp:
        tree = extract(args.baseline_ref, Path(tmp))
        old, new = [], []
        for _ in range(args.rounds):
            old.append(measure("stack", "aws-dev", args.repeat, root=tree, tree=tree)["warm_s"])
            new.append(measure("stack", "aws-dev", args.repeat)["warm_s"])
    ratio = statistics.median(new) / statistics.median(old)
    print(f"\naws-dev warm render, median of {args.rounds} alternating runs:")
    print(f"  {args.baseline_ref:>10}: {statistics.median(old):.3f} s   ({', '.join(f'{v:.3f}' for v in old)})")
    print(f"  {'this tree':>10}: {statistics.median(new):.3f} s   ({', '.join(f'{v:.3f}' for v in new)})")
    print(f"  ratio {ratio:.2f} (target <= 1.10): {'MET' if ratio <= 1.10 else 'MISSED'}")


if __name__ == "__main__":
    main()
