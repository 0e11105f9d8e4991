"""azure-dev deploys exactly the frozen inventory (tests/azure/data/azure-dev-plan.json), resource for
resource and input for input. A change to the stack is accepted by rewriting that file
(`python -m tests.azure.plan_inventory --write`) and reviewing its diff."""

import json

from tests.azure import plan_inventory


def test_azure_dev_renders_the_frozen_inventory():
    frozen = json.loads(plan_inventory.FILE.read_text())
    fresh = json.loads(json.dumps(plan_inventory.render()))  # the same JSON round trip as the file
    assert len(fresh) == len(frozen) == 75
    assert [r["urn"] for r in fresh] == [r["urn"] for r in frozen]
    for now, then in zip(fresh, frozen, strict=True):
        assert now == then, now["urn"]
