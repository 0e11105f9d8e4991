import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/routerkit.py

import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import pytest  # noqa: E402
from routerkit import free_port  # noqa: E402


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real redis-server on a free loopback port. Missing redis-server is a failure, not a skip."""
    exe = shutil.which("redis-server")
    assert exe, "redis-server is not installed: run scripts/system-deps.sh"
    port = free_port()
    d = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(d)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    client.close()
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def moto_url():
    """A real moto server (DynamoDB) on a free loopback port, shared with tests/aws. Missing
    moto[server] is a failure, not a skip."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root: `tests.aws`
    from tests.aws import moto_server

    url = moto_server.endpoint()
    assert url, "moto[server] is not installed (moto_server): install the dev extras"
    return url
