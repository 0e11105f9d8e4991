"""The gcp-dev stack rendered once per session (the same harness `skyrelay plan` uses)."""

import pytest


@pytest.fixture(scope="session")
def gcp_plan():
    from skyrelay.plan import render_stack

    return render_stack("gcp-dev")[0]


@pytest.fixture(scope="session")
def gcp_config(project_root):
    from skyrelay.config import load_stack_config

    return load_stack_config(project_root / "stacks" / "Pulumi.gcp-dev.yaml")


def env_of(service) -> dict[str, dict]:
    """A Cloud Run service's env entries by name (each {value} or {valueSource})."""
    (container,) = service.inputs["template"]["containers"]
    return {e["name"]: e for e in container.get("envs", [])}


def named(plan, type_token: str, name: str):
    found = [r for r in plan.of_type(type_token) if r.name == name]
    assert len(found) == 1, f"{type_token} {name}: {len(found)} found"
    return found[0]
