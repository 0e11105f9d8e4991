"""What both Lambda handlers share: the AWS deployment (what AsyncJobs and JobsApi wrote into the
functions' environment, named in skyrelay/deployment.py) and one event loop per container.

The AWS components deploy a DynamoDB job table (store and shared limiter), one SQS queue per
priority with its DLQ, and Secrets Manager secrets whose ARNs are in the environment.
`bootstrap.start(AWS)` turns that into config, store and queue; see runtime/platforms/bootstrap.py.
AWS_ENDPOINT_URL points every AWS call at an emulator (moto) in tests only.
"""

import asyncio
import os

from skyrelay import deployment as contract
from skyrelay.runtime.platforms import bootstrap

_loop: asyncio.AbstractEventLoop | None = None


def loop() -> asyncio.AbstractEventLoop:
    """One event loop per container, reused by every invocation (pooled HTTP clients survive)."""
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_loop)
    return _loop


def _store(env) -> dict:
    return {"backend": "dynamodb", "options": {
        "table": env.get(contract.JOBS_TABLE), "endpoint_url": env.get(contract.AWS_ENDPOINT_URL),
        **({"ttl_attribute": env[contract.TTL_ATTRIBUTE]} if env.get(contract.TTL_ATTRIBUTE) else {})}}


def _queue(env) -> dict:
    options = {"endpoint_url": env.get(contract.AWS_ENDPOINT_URL)}
    for p in contract.PRIORITIES:
        options[f"{p}_url"] = env.get(contract.queue_url(p))
        if env.get(contract.dlq_url(p)):
            options[f"{p}_dlq_url"] = env[contract.dlq_url(p)]
    return {"backend": "sqs", "options": options}


def _shared_limiter(env) -> dict | None:
    """The job table holds the counters: shared by every container, no VPC or Redis needed."""
    if not env.get(contract.JOBS_TABLE):
        return None
    return {"backend": "dynamodb", "table": env[contract.JOBS_TABLE], "endpoint_url": env.get(contract.AWS_ENDPOINT_URL)}


def _load_secrets(env) -> dict[str, str]:
    from skyrelay.runtime.clouds.aws.secrets import load_secrets

    return load_secrets(env)


def _storage(env) -> dict | None:
    """Batch work's bucket (AsyncJobs' batch bucket), or None when the stack deployed none."""
    if not env.get(contract.BATCH_BUCKET):
        return None
    return {"backend": "s3", "options": {"bucket": env[contract.BATCH_BUCKET],
                                         "endpoint_url": env.get(contract.AWS_ENDPOINT_URL)}}


AWS = bootstrap.Deployment("aws", store=_store, queue=_queue, shared_limiter=_shared_limiter,
                           load_secrets=_load_secrets, storage=_storage)


def start(env=None) -> bootstrap.Started:
    env = os.environ if env is None else env
    return bootstrap.start(AWS, env, root=env.get("LAMBDA_TASK_ROOT", "."))
