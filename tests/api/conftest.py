import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/routerkit.py
import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"
