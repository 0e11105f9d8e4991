"""The `ObjectStorage` port: put, get, list, delete objects by key, and the URI a provider reads them by.

Semantics every adapter keeps (tests/storage runs one suite against all of them):
- keys are `/`-separated paths under the adapter's bucket/container/directory (and optional prefix);
- `put` replaces an object whole (a reader never sees half of it); `put_file` streams a local file,
  so a large JSONL is never held in memory; `get_file` downloads into a local file the same way;
- `get` / `get_file` of a missing key return None / False; `delete` of a missing key is no error;
- `list(prefix)` returns every key under `prefix`, sorted;
- `uri(key)` is the provider-facing address: `s3://bucket/key`, `gs://bucket/key`, the blob URL, or
  `file:///abs/path` for the local directory (the simulator reads that).

The clouds' SDKs are blocking, so `ThreadedStorage` runs their calls in a worker thread.
"""

import asyncio
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class ObjectStorage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str = "application/jsonl") -> None: ...
    async def put_file(self, key: str, path: str | Path, content_type: str = "application/jsonl") -> None: ...
    async def get(self, key: str) -> bytes | None: ...
    async def get_file(self, key: str, path: str | Path) -> bool: ...
    async def list(self, prefix: str) -> list[str]: ...
    async def delete(self, key: str) -> None: ...
    def uri(self, key: str) -> str: ...
    async def close(self) -> None: ...


def join(prefix: str, key: str) -> str:
    prefix = prefix.strip("/")
    return f"{prefix}/{key}" if prefix else key


class ThreadedStorage:
    """The async port over blocking `_put/_put_file/_get/_get_file/_list/_delete` (an SDK's calls)."""

    prefix = ""

    def _key(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid object key {key!r}")
        return join(self.prefix, key)

    def _unkey(self, full: str) -> str:
        p = self.prefix.strip("/")
        return full[len(p) + 1:] if p and full.startswith(p + "/") else full

    async def put(self, key: str, data: bytes, content_type: str = "application/jsonl") -> None:
        await asyncio.to_thread(self._put, self._key(key), data, content_type)

    async def put_file(self, key: str, path, content_type: str = "application/jsonl") -> None:
        await asyncio.to_thread(self._put_file, self._key(key), str(path), content_type)

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._get, self._key(key))

    async def get_file(self, key: str, path) -> bool:
        return await asyncio.to_thread(self._get_file, self._key(key), str(path))

    async def list(self, prefix: str) -> list[str]:
        full = join(self.prefix, prefix) if prefix else self.prefix.strip("/")
        return sorted(self._unkey(k) for k in await asyncio.to_thread(self._list, full))

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete, self._key(key))

    async def close(self) -> None:
        return None
