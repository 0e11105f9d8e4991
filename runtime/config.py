"""The runtime's config file: the router's sections (runtime/router/config.py) and the `jobs:`
section (runtime/jobs/config.py), composed here, one floor above both, so the router's config never
depends on the jobs'. `skyrelay serve`, the platforms and bootstrap load files through this module;
the router itself only reads the RouterConfig part.
"""

import os

from pydantic import Field

from skyrelay.runtime.jobs.config import JobsConfig
from skyrelay.runtime.router import config as router_config


class RuntimeConfig(router_config.RouterConfig):
    jobs: JobsConfig | None = Field(default=None, description="async jobs: store, queue, worker, webhooks")


def parse_config(raw: dict, source: str = "runtime config") -> RuntimeConfig:
    return router_config.parse_config(raw, source, RuntimeConfig)


def load_config(path: str | os.PathLike) -> RuntimeConfig:
    return router_config.load_config(path, RuntimeConfig)
