"""The gcp-dev stack rendered once per session (the same harness `skyrelay plan` uses)."""

import pytest
from google.protobuf import json_format

from skyrelay.plan import wire


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


def unmasked(value):
    """A wire value with secrets revealed (the plan masks them as "[secret]")."""
    if isinstance(value, dict):
        if value.get(wire.SIG) in (wire.SECRET, wire.OUTPUT_VALUE):
            return unmasked(value.get("value"))
        return {k: unmasked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unmasked(v) for v in value]
    return value


def raw_env_of(service) -> dict[str, dict]:
    """env_of with secret values revealed (from the registration request)."""
    doc = unmasked(json_format.MessageToDict(service.request.object))
    (container,) = doc["template"]["containers"]
    return {e["name"]: e for e in container.get("envs", [])}
