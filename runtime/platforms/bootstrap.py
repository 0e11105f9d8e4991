"""Start-up, once, for every platform: the router config, the secrets, the jobs settings, the store
and the queue, read from the deployment contract (`skyrelay/deployment.py`).

A platform (aws_lambda, azure_functions, cloud_run, local) describes only what its cloud decides,
as a `Deployment`: how secret references become values, which store and queue adapters the
component deployed and with which settings, and which limiter every instance shares. The rest is
the same on every cloud and lives here:
- the router config comes from CONFIG_JSON (rendered by the blueprint), else the CONFIG_FILE file (AWS ships
  it in the zip), plus the API key digests of KEY_DIGESTS;
- TIERS (the stack's effective tier table) becomes the config's `tier_overrides`, MAX_BODY_BYTES the
  API's body limit;
- a per-instance limiter (`memory`, or `sqlite` on an instance's own disk) is replaced by the
  deployment's shared one: many instances each holding their own windows would let every tier
  through once per instance;
- the jobs section gets the store and queue the deployment names, the component's max receive count
  (the worker's attempts, so the last delivery is its last attempt) and record TTL, and the webhook
  secret (one per deployment) for every tenant.
Imports stay lazy: a cold Lambda worker pays only for what it uses.
"""

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from skyrelay import deployment as contract

log = logging.getLogger("skyrelay.bootstrap")
Env = Mapping[str, str]
PER_INSTANCE_LIMITERS = ("memory", "sqlite")  # their windows live on one instance (its memory, its disk)


@dataclass(frozen=True)
class Deployment:
    """What one cloud's components decided, read from the environment they wrote."""

    name: str
    store: Callable[[Env], dict]  # -> StoreConfig fields: {"backend": ..., "options": {...}}
    queue: Callable[[Env], dict]  # -> QueueConfig fields
    shared_limiter: Callable[[Env], dict | None]  # -> LimiterConfig fields, or None to keep the config's
    load_secrets: Callable[[Env], dict[str, str]] | None = None  # resolves references into os.environ
    storage: Callable[[Env], dict | None] | None = None  # -> batch StorageConfig fields, or None (batch off)


def router_config(env: Env | None = None, root: str | Path = ".", deployment: Deployment | None = None):
    """The RuntimeConfig (runtime/config.py) the deployment runs: CONFIG_JSON, else CONFIG_FILE (relative to `root`;
    a .json file is read without the YAML parser), with KEY_DIGESTS merged into its tenants and the contract's
    TIERS, MAX_BODY_BYTES and the deployment's shared limiter applied."""
    env = os.environ if env is None else env
    digests = env.get(contract.KEY_DIGESTS)
    path = Path(env.get(contract.CONFIG_FILE, "skyrelay.yaml"))
    path = path if path.is_absolute() else Path(root) / path
    if env.get(contract.CONFIG_JSON) or path.suffix == ".json" or digests:
        import json

        from skyrelay.runtime.config import parse_config

        if env.get(contract.CONFIG_JSON):
            doc, source = json.loads(env[contract.CONFIG_JSON]), contract.CONFIG_JSON
        elif path.suffix == ".json":
            doc, source = json.loads(path.read_text()), str(path)
        else:
            import yaml

            doc, source = yaml.safe_load(path.read_text()), str(path)
        if digests:
            doc = contract.add_key_digests(doc, json.loads(digests))
        config = parse_config(doc, source)
    else:
        from skyrelay.runtime.config import load_config

        config = load_config(path)
    return apply_contract(config, env, deployment)


def apply_contract(config, env: Env, deployment: Deployment | None = None):
    update: dict = {}
    if env.get(contract.TIERS):
        from skyrelay.tiers import TierName, TierOverride

        tiers = contract.tiers_from_doc(env[contract.TIERS])
        update["tier_overrides"] = {**config.tier_overrides,
                                    **{TierName(t): TierOverride(**v) for t, v in tiers.items()}}
    if env.get(contract.BATCH_ROLE_ARN):  # the provider's batch role, for every batch deployment that names none
        deps = tuple(d.model_copy(update={"batch": d.batch.model_copy(update={"role_arn": env[contract.BATCH_ROLE_ARN]})})
                     if d.batch is not None and d.provider == "bedrock" and not d.batch.role_arn else d
                     for d in config.deployments)
        update["deployments"] = deps
    if env.get(contract.MAX_BODY_BYTES):
        update["api"] = config.api.model_copy(update={"max_body_bytes": int(env[contract.MAX_BODY_BYTES])})
    shared = deployment.shared_limiter(env) if deployment is not None else None
    if shared is not None and config.limiter.backend in PER_INSTANCE_LIMITERS:
        log.warning("limiter.backend: %s is per instance on %s; using %s", config.limiter.backend, deployment.name,
                    shared["backend"])
        update["limiter"] = config.limiter.model_copy(update=shared)
    elif shared is not None and config.limiter.backend == shared["backend"]:
        update["limiter"] = config.limiter.model_copy(update={k: v for k, v in shared.items()
                                                              if getattr(config.limiter, k, None) is None})
    return config.model_copy(update=update) if update else config


def jobs_config(config, env: Env | None = None, deployment: Deployment | None = None):
    """The config's `jobs:` section with what the deployment decided (see the module docstring)."""
    from skyrelay.runtime.jobs.config import JobsConfig

    env = os.environ if env is None else env
    doc = (getattr(config, "jobs", None) or JobsConfig()).model_dump()
    if deployment is not None:
        doc["store"].update(deployment.store(env))
        doc["queue"].update(deployment.queue(env))
    if deployment is not None and deployment.storage is not None:
        storage = deployment.storage(env)
        if storage is None:  # the component deployed no bucket: no batch work on this deployment
            doc["batch"]["enabled"] = False
        else:
            doc["batch"]["storage"] = storage
    if env.get(contract.MAX_RECEIVE_COUNT):
        doc["worker"]["max_attempts"] = doc["queue"]["max_receives"] = int(env[contract.MAX_RECEIVE_COUNT])
    if env.get(contract.JOB_TTL_SECONDS):
        doc["store"]["ttl_s"] = float(env[contract.JOB_TTL_SECONDS])
    if env.get(contract.secret_ref(contract.WEBHOOK_SECRET)) or env.get(contract.WEBHOOK_SECRET):
        tenants = [t.name for t in getattr(config, "tenants", ())]
        own = doc["webhooks"]["secret_envs"]
        doc["webhooks"]["secret_envs"] = {t: [contract.WEBHOOK_SECRET] for t in tenants} | own
    return JobsConfig.model_validate(doc)


def store_and_queue(jobs):
    """The store and queue adapters the jobs config names (runtime/jobs/wiring.py)."""
    from skyrelay.runtime.jobs.wiring import store_and_queue as make

    return make(jobs)


JOBS_ROUTES = "skyrelay.runtime.api.jobs"


def api_app(config, store, queue, jobs_cfg, router=None):
    """The ASGI app a platform serves: the API's routes with the jobs routes, the job service wired to
    the deployment's store and queue."""
    from skyrelay.runtime.api.app import ROUTE_MODULES, create_app
    from skyrelay.runtime.jobs.wiring import build_service

    modules = ROUTE_MODULES if JOBS_ROUTES in ROUTE_MODULES else (*ROUTE_MODULES, JOBS_ROUTES)
    app = create_app(config, router=router, route_modules=modules)
    ctx = app.state.ctx
    ctx.jobs = build_service(config, ctx.router, store, queue, jobs_cfg)
    return app


@dataclass
class Started:
    config: object  # RuntimeConfig
    jobs: object  # JobsConfig
    store: object
    queue: object


def start(deployment: Deployment, env: Env | None = None, root: str | Path = ".") -> Started:
    """Everything a handler needs before its first event: secrets resolved, config, store, queue."""
    env = os.environ if env is None else env
    if deployment.load_secrets is not None:
        deployment.load_secrets(env)
    config = router_config(env, root, deployment)
    jobs = jobs_config(config, env, deployment)
    store, queue = store_and_queue(jobs)
    return Started(config, jobs, store, queue)
