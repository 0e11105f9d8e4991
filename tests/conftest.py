"""Shared fixtures. `render_stack` / `render_program` use the same harness as `skyrelay plan`."""

import sys
from pathlib import Path

import pytest

# ---- GCP (issue 12): pulumi and google-api-core in one test session ----
# The Pulumi SDK ships its own copy of google.rpc.Status under another file name
# (pulumi/runtime/proto/status_pb2.py: "google/protobuf/status.proto"), and protobuf refuses a second
# definition of the symbol: a process that imports pulumi, then the google-cloud SDKs (or the reverse)
# fails with "duplicate symbol 'google.rpc.Status'". The runtime never imports pulumi, so only a test
# session meets both: there, pulumi's module is Google's (the same message, field for field).
from google.rpc import status_pb2 as _google_rpc_status  # noqa: E402

sys.modules.setdefault("pulumi.runtime.proto.status_pb2", _google_rpc_status)
# ---- end GCP ----

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


@pytest.fixture(scope="session")
def simulator():
    """The provider simulator on a free loopback port (its own thread), e.g. for `skyrelay serve`
    subprocesses (tests/servekit.py). A `SimControl`; `simulator.base_url` is its URL."""
    from skyrelay.runtime.simulator.launch import SimControl, start_in_thread

    base_url, stop = start_in_thread(port=0)
    try:
        yield SimControl(base_url)
    finally:
        stop()


@pytest.fixture
def sim(simulator):
    """The session simulator, reset (counts, faults, configuration) before the test."""
    simulator.reset()
    return simulator
