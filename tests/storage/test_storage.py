"""One suite for every ObjectStorage adapter (runtime/storage/base.py), each on its real peer: S3 on the
moto server, Blob on Azurite, GCS on gcp-storage-emulator, and the local directory."""

import uuid

import pytest

from skyrelay.runtime.storage import make_storage
from tests.batch.conftest import blob_storage, gcs_storage, s3_storage

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


def local_storage(tmp_path):
    return {"backend": "local", "options": {"root": str(tmp_path / "objects"), "prefix": "pre"}}, {}


MAKERS = {"s3": lambda tmp: s3_storage(), "blob": lambda tmp: blob_storage(), "gcs": lambda tmp: gcs_storage(),
          "local": local_storage}
SCHEMES = {"s3": "s3://", "blob": "http://127.0.0.1:", "gcs": "gs://", "local": "file:///"}


@pytest.mark.parametrize("backend", list(MAKERS))
async def test_put_get_list_delete_and_uri(tmp_path, backend):
    cfg, _ = MAKERS[backend](tmp_path)
    storage = make_storage(cfg["backend"], cfg["options"])
    try:
        await storage.put("a/one.jsonl", b'{"x": 1}\n')
        await storage.put("a/b/two.jsonl", b"2\n")
        await storage.put("other/three", b"")
        big = tmp_path / "big.jsonl"
        big.write_bytes(b"".join(b'{"n": %d}\n' % i for i in range(100_000)))  # ~1.1 MB, streamed both ways
        await storage.put_file("a/big.jsonl", big)
        assert await storage.list("a") == ["a/b/two.jsonl", "a/big.jsonl", "a/one.jsonl"]
        assert await storage.list("a/b") == ["a/b/two.jsonl"]
        assert await storage.get("a/one.jsonl") == b'{"x": 1}\n'
        back = tmp_path / "back.jsonl"
        assert await storage.get_file("a/big.jsonl", back) and back.read_bytes() == big.read_bytes()
        await storage.put("a/one.jsonl", b"replaced\n")
        assert await storage.get("a/one.jsonl") == b"replaced\n"
        assert await storage.get("a/missing") is None
        assert await storage.get_file("a/missing", tmp_path / "none") is False
        await storage.delete("a/one.jsonl")
        await storage.delete("a/one.jsonl")  # twice: no error
        assert await storage.list("a") == ["a/b/two.jsonl", "a/big.jsonl"]
        assert storage.uri("a/b/two.jsonl").startswith(SCHEMES[backend]) and storage.uri("a/b/two.jsonl").endswith(
            "a/b/two.jsonl")
        with pytest.raises(ValueError):
            await storage.put("../escape", b"")
    finally:
        await storage.close()


async def test_the_simulator_reads_back_what_the_uri_names(tmp_path):
    from skyrelay.runtime.storage.uris import open_uri

    for backend in ("s3", "gcs", "local"):
        cfg, endpoints = MAKERS[backend](tmp_path)
        storage = make_storage(cfg["backend"], cfg["options"])
        key = f"k/{uuid.uuid4().hex}.jsonl"
        await storage.put(key, b"line\n")
        other, other_key = open_uri(storage.uri(key), endpoints)
        assert await other.get(other_key) == b"line\n", backend
