"""Shared fixtures. `render_stack` / `render_program` use the same harness as `skyrelay plan`."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture
def render_stack():
    """render_stack("aws-dev") -> Plan, rendering stacks/Pulumi.aws-dev.yaml under mocks."""
    from skyrelay.plan import render_stack as _render

    return lambda stack, root=ROOT: _render(stack, root)[0]


@pytest.fixture
def render_program():
    """render_program(dir, {"ns:key": value}) -> Plan, for any Pulumi Python program."""
    from skyrelay.plan import render_program as _render

    return _render
