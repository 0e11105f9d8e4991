import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/routerkit.py
import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="session")
def simulator():
    """The provider simulator on a free loopback port (its own thread), for `skyrelay serve` subprocesses."""
    from skyrelay.runtime.simulator.launch import SimControl, start_in_thread

    base_url, stop = start_in_thread(port=0)
    try:
        yield SimControl(base_url)
    finally:
        stop()


@pytest.fixture
def sim(simulator):
    simulator.reset()
    return simulator
