"""The aws-dev plan as a frozen inventory: every resource with its type, parent, provider, inputs and
dependencies, in a stable order, with the one value that changes whenever the runtime's source does
(the Lambda zip's path and hash) replaced by a marker.

`tests/aws/test_aws_dev_plan_frozen.py` compares a fresh render with `data/aws-dev-plan.json`, so a
change to what aws-dev deploys shows up as a reviewed diff of that file. To accept a change:

    .venv/bin/python -m tests.aws.plan_inventory --write
"""

import json
import sys
from pathlib import Path

FILE = Path(__file__).parent / "data" / "aws-dev-plan.json"
ZIP = "<the Lambda zip>"
ZIP_HASH = "<sha256 of the Lambda zip>"


def _normalise(value):
    if isinstance(value, dict):
        if value.get("kind") == "asset" and str(value.get("path", "")).endswith(".zip"):
            return {"kind": "asset", "path": ZIP}
        return {k: _normalise(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def inventory(plan) -> list[dict]:
    out = []
    for r in sorted(plan.resources, key=lambda r: r.urn):
        inputs = _normalise(r.inputs)
        if "sourceCodeHash" in inputs:
            inputs["sourceCodeHash"] = ZIP_HASH
        out.append({"urn": r.urn, "type": r.type, "parent": r.parent, "provider": r.provider,
                    "custom": r.custom, "inputs": inputs, "dependencies": sorted(set(r.dependencies))})
    return out


def render() -> list[dict]:
    from skyrelay.plan import render_stack

    return inventory(render_stack("aws-dev")[0])


if __name__ == "__main__":
    if "--write" in sys.argv:
        FILE.write_text(json.dumps(render(), indent=1, sort_keys=True) + "\n")
        print(f"wrote {FILE}")
