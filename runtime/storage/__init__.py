"""Object storage: the `ObjectStorage` port (base.py) and its adapters, chosen by `jobs.batch.storage.backend`.

Batch work lives here as JSONL (the batcher's pending chunks, the provider's input and output, a batch's
output and error files); its state lives in the job store. Register an adapter by adding one entry to
ADAPTERS: name -> "module:factory", called as `factory(options)`; cloud SDKs load inside the adapter.
"""

import importlib

ADAPTERS: dict[str, str] = {
    "local": "skyrelay.runtime.storage.local:from_options",
    "s3": "skyrelay.runtime.storage.s3:from_options",
    "blob": "skyrelay.runtime.storage.blob:from_options",
    "gcs": "skyrelay.runtime.storage.gcs:from_options",
}


def make_storage(backend: str, options: dict | None = None):
    try:
        target = ADAPTERS[backend]
    except KeyError:
        raise ValueError(f"unknown object storage backend {backend!r}; known: {sorted(ADAPTERS)}") from None
    module, _, factory = target.partition(":")
    return getattr(importlib.import_module(module), factory)(dict(options or {}))
