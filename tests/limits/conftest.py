import pytest


@pytest.fixture(scope="session")
def redis_url():
    """A real redis-server on a free loopback port (tests/peers.py): missing is a failure, not a skip."""
    from tests import peers

    return peers.redis()


@pytest.fixture(scope="session")
def moto_url():
    """A real moto server (DynamoDB) on a free loopback port, shared with tests/aws. Missing
    moto[server] is a failure, not a skip."""
    from tests import peers

    return peers.moto()
