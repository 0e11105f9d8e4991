import dataclasses

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="session")
def aws_dev_plan():
    """aws-dev rendered once for the readiness suite (a render takes seconds)."""
    from skyrelay.plan import render_stack

    return render_stack("aws-dev", ROOT)[0]


def without(plan, *types: str, names: tuple[str, ...] = ()):
    """`plan` as a changed program would render it: without the resources of `types` (or only those
    of them named in `names`)."""
    keep = [r for r in plan.resources if not (r.type in types and (not names or r.name in names))]
    return dataclasses.replace(plan, resources=keep)


def with_inputs(plan, type_token: str, name: str, **inputs):
    """`plan` with one resource's inputs changed."""
    out = []
    for r in plan.resources:
        if r.type == type_token and r.name == name:
            r = dataclasses.replace(r, inputs={**r.inputs, **inputs})
        out.append(r)
    return dataclasses.replace(plan, resources=out)
