"""Job stores: the `JobStore` port (base.py) and its adapters, chosen by `jobs.store.backend`.

Register an adapter by adding one entry to ADAPTERS: name -> "module:factory", where the factory is
called as `factory(StoreConfig)` and returns a JobStore. Cloud SDKs load inside the adapter module.
"""

import importlib

ADAPTERS: dict[str, str] = {
    "sqlite": "skyrelay.runtime.stores.sqlite:from_config",
    "dynamodb": "skyrelay.runtime.stores.dynamodb:from_config",
    "cosmos": "skyrelay.runtime.stores.cosmos:from_config",
    "firestore": "skyrelay.runtime.stores.firestore:from_config",
}


def make_store(cfg):
    """`cfg` is a runtime.jobs.config.StoreConfig."""
    try:
        target = ADAPTERS[cfg.backend]
    except KeyError:
        raise ValueError(f"unknown job store backend {cfg.backend!r}; known: {sorted(ADAPTERS)}") from None
    module, _, factory = target.partition(":")
    return getattr(importlib.import_module(module), factory)(cfg)
