"""Job queues: the `JobQueue` port (base.py) and its adapters, chosen by `jobs.queue.backend`.

Register an adapter by adding one entry to ADAPTERS: name -> "module:factory", called as
`factory(QueueConfig, StoreConfig)` (the store config gives the SQLite default path).
"""

import importlib

ADAPTERS: dict[str, str] = {
    "sqlite": "skyrelay.runtime.queues.sqlite:from_config",
    "sqs": "skyrelay.runtime.queues.sqs:from_config",
    "servicebus": "skyrelay.runtime.queues.servicebus:from_config",
    "cloudtasks": "skyrelay.runtime.queues.cloudtasks:from_config",
}


def make_queue(cfg, store_cfg=None):
    try:
        target = ADAPTERS[cfg.backend]
    except KeyError:
        raise ValueError(f"unknown job queue backend {cfg.backend!r}; known: {sorted(ADAPTERS)}") from None
    module, _, factory = target.partition(":")
    return getattr(importlib.import_module(module), factory)(cfg, store_cfg)
