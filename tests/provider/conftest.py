"""The plugin, started once per test session the way the engine starts it (tests/provider/loopback.py)."""

import json

import pytest

from tests.provider.loopback import Plugin


@pytest.fixture(scope="session")
def plugin(tmp_path_factory):
    running = Plugin().start(tmp_path_factory.mktemp("plugin") / "stderr.log")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def served_schema(plugin) -> dict:
    """The schema as GetSchema serves it."""
    return json.loads(plugin.schema())
