"""AWS Lambda platform: thin adapters around the ASGI app and the job worker.

- `api.handler`: the ASGI app behind Mangum (API Gateway REST v1 proxy events).
- `worker.handler`: SQS batches with partial batch failures (`batchItemFailures`).
Both build their runtime lazily on the first invocation (`runtime.py`) from the environment that
AsyncJobs / JobsApi set: the DynamoDB table, the SQS queue URLs and Secrets Manager ARNs.
Nothing heavy is imported at module import, so the cold start pays only for what is used.
"""

import os

# The zip carries no pydantic plugins (its dist-info folders keep METADATA only, so no entry points):
# skip the look-up, and with it importlib.metadata (components/aws/packaging.py SOURCE_PATCHES).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
