"""What both Lambda handlers share: config, secrets, store, queue, router, one event loop.

Environment (set by the AWS components):
  SKYRELAY_CONFIG_JSON              the router config (tenants, deployments, jobs) as JSON, rendered by the
                                    blueprint from the stack config (not a secret); wins over SKYRELAY_CONFIG
  SKYRELAY_CONFIG                   else a router config file; relative to the zip root
  SKYRELAY_JOBS_TABLE               DynamoDB table (DynamoJobStore)
  SKYRELAY_QUEUE_INTERACTIVE_URL / SKYRELAY_QUEUE_BATCH_URL   SQS queues (SqsJobQueue)
  SKYRELAY_MAX_RECEIVE_COUNT        the queues' maxReceiveCount: the worker's max attempts
  SKYRELAY_JOB_TTL_SECONDS          job record TTL
  SKYRELAY_WEBHOOK_SECRET_ARN       Standard Webhooks signing secret (Secrets Manager)
  SKYRELAY_PROVIDER_<NAME>_SECRET_ARN  provider API keys (Secrets Manager)
  SKYRELAY_AWS_ENDPOINT_URL         only for emulators (moto) in tests
Secret values are fetched once per container and kept in this process only (never in the
function's configuration): the webhook secret as SKYRELAY_WEBHOOK_SECRET, provider keys as
SKYRELAY_PROVIDER_<NAME>_SECRET.
"""

import asyncio
import os
import re
from pathlib import Path

_SECRET_ARN = re.compile(r"^SKYRELAY_(WEBHOOK|PROVIDER_[A-Z0-9_]+)_SECRET_ARN$")
WEBHOOK_SECRET_ENV = "SKYRELAY_WEBHOOK_SECRET"

_loop: asyncio.AbstractEventLoop | None = None


def loop() -> asyncio.AbstractEventLoop:
    """One event loop per container, reused by every invocation (pooled HTTP clients survive)."""
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_loop)
    return _loop


def load_secrets(env: dict | None = None, client=None) -> dict[str, str]:
    """Reads every *_SECRET_ARN from Secrets Manager into os.environ (names without `_ARN`)."""
    env = env if env is not None else os.environ
    wanted = {name[: -len("_ARN")]: arn for name, arn in env.items() if _SECRET_ARN.match(name) and arn}
    wanted = {k: v for k, v in wanted.items() if k not in os.environ}
    if not wanted:
        return {}
    if client is None:
        from skyrelay.runtime.clouds.aws.json_client import make_client

        client = make_client("secretsmanager", endpoint_url=env.get("SKYRELAY_AWS_ENDPOINT_URL"), env=env)
    loaded = {}
    for name, arn in wanted.items():
        try:
            loaded[name] = client.get_secret_value(SecretId=arn)["SecretString"]
        except Exception as exc:  # a provider key not put yet must not take the API down
            if getattr(exc, "response", {}).get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
    os.environ.update(loaded)
    return loaded


def router_config(env: dict | None = None):
    env = env if env is not None else os.environ
    if env.get("SKYRELAY_CONFIG_JSON"):
        import json

        from skyrelay.runtime.router.config import parse_config

        config = parse_config(json.loads(env["SKYRELAY_CONFIG_JSON"]), "SKYRELAY_CONFIG_JSON")
    else:
        from skyrelay.runtime.router.config import load_config

        path = Path(env.get("SKYRELAY_CONFIG", "skyrelay.yaml"))
        if not path.is_absolute():
            path = Path(env.get("LAMBDA_TASK_ROOT", ".")) / path
        config = load_config(path)
    return shared_limiter(config, env)


def shared_limiter(config, env):
    """Lambda runs many containers: a per-process memory limiter would let each tier through once
    per container. A config that asks for `memory` gets the DynamoDB limiter on the job table."""
    if config.limiter.backend != "memory" or not env.get("SKYRELAY_JOBS_TABLE"):
        return config
    import logging

    logging.getLogger("skyrelay.lambda").warning(
        "limiter.backend: memory is per container on Lambda; using dynamodb (table %s)", env["SKYRELAY_JOBS_TABLE"])
    return config.model_copy(update={"limiter": config.limiter.model_copy(update={"backend": "dynamodb"})})


def jobs_config(config, env: dict | None = None):
    """The config's `jobs:` section with what the deployment decides: attempts = maxReceiveCount,
    record TTL, and the webhook secret from Secrets Manager for every tenant."""
    from skyrelay.runtime.jobs.config import JobsConfig

    env = env if env is not None else os.environ
    base = getattr(config, "jobs", None) or JobsConfig()
    doc = base.model_dump()
    if env.get("SKYRELAY_MAX_RECEIVE_COUNT"):
        doc["worker"]["max_attempts"] = int(env["SKYRELAY_MAX_RECEIVE_COUNT"])
        doc["queue"]["max_receives"] = int(env["SKYRELAY_MAX_RECEIVE_COUNT"])
    if env.get("SKYRELAY_JOB_TTL_SECONDS"):
        doc["store"]["ttl_s"] = float(env["SKYRELAY_JOB_TTL_SECONDS"])
    if env.get("SKYRELAY_WEBHOOK_SECRET_ARN"):
        tenants = [t.name for t in getattr(config, "tenants", ())]
        doc["webhooks"]["secret_envs"] = {t: [WEBHOOK_SECRET_ENV] for t in tenants} | doc["webhooks"]["secret_envs"]
    doc["store"]["backend"], doc["queue"]["backend"] = "dynamodb", "sqs"
    return JobsConfig.model_validate(doc)


def store_and_queue(env: dict | None = None):
    """DynamoJobStore + SqsJobQueue on the small SigV4 JSON client (`clouds/aws/json_client.py`): no botocore import
    or service-model loading on the cold path when Lambda's credentials are in the environment."""
    from skyrelay.runtime.clouds.aws.json_client import make_client
    from skyrelay.runtime.queues.sqs import SqsJobQueue
    from skyrelay.runtime.stores.dynamodb import DynamoJobStore

    env = env if env is not None else dict(os.environ)
    endpoint = env.get("SKYRELAY_AWS_ENDPOINT_URL")
    return (DynamoJobStore.from_env(env, client=make_client("dynamodb", endpoint_url=endpoint, env=env)),
            SqsJobQueue.from_env(env, client=make_client("sqs", endpoint_url=endpoint, env=env)))
