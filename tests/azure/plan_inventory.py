"""The azure-dev plan as a frozen inventory (as tests/aws/plan_inventory.py for aws-dev): every
resource with its type, parent, provider, inputs and dependencies, in a stable order, with what
changes on its own replaced by markers: the Functions zip's path (it follows the runtime's source)
and the budget's and anomaly alert's dates (they follow the calendar).

`tests/azure/test_azure_dev_plan_frozen.py` compares a fresh render with `data/azure-dev-plan.json`,
so a change to what azure-dev deploys shows up as a reviewed diff of that file. To accept a change:

    .venv/bin/python -m tests.azure.plan_inventory --write
"""

import json
import sys
from pathlib import Path

from tests.aws.plan_inventory import ZIP, _normalise

FILE = Path(__file__).parent / "data" / "azure-dev-plan.json"
FUNCTIONS_ZIP = "<the Functions zip>"
DATE = "<a date that follows the calendar>"
DATED = {"startDate", "endDate"}


def _undated(value):
    if isinstance(value, dict):
        return {k: DATE if k in DATED and isinstance(v, str) else _undated(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_undated(v) for v in value]
    return FUNCTIONS_ZIP if value == ZIP else value


def inventory(plan) -> list[dict]:
    return [{"urn": r.urn, "type": r.type, "parent": r.parent, "provider": r.provider, "custom": r.custom,
             "inputs": _undated(_normalise(r.inputs)), "dependencies": sorted(set(r.dependencies))}
            for r in sorted(plan.resources, key=lambda r: r.urn)]


def render() -> list[dict]:
    from skyrelay.plan import render_stack

    return inventory(render_stack("azure-dev")[0])


if __name__ == "__main__":
    if "--write" in sys.argv:
        FILE.parent.mkdir(exist_ok=True)
        FILE.write_text(json.dumps(render(), indent=1, sort_keys=True) + "\n")
        print(f"wrote {FILE}")
