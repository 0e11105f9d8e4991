"""What the runtime's AWS adapters share (the DynamoDB job store, the SQS queue, the DynamoDB limiter):
one service client, injected or made on first use, called in a worker thread.

The client made here is `json_client.make_client`'s: the small SigV4 JSON client when the environment
holds credentials (always on Lambda: no botocore import on a request path), botocore's otherwise.
Both take the same request dicts and raise errors with botocore's `response["Error"]["Code"]`.
"""

import asyncio
from typing import Any


class AwsAdapter:
    service: str  # "dynamodb" or "sqs": set by each adapter

    def __init__(self, client: Any = None, endpoint_url: str | None = None, region: str | None = None):
        self._client = client
        self._endpoint = endpoint_url
        self._region = region

    @property
    def client(self):
        if self._client is None:
            from skyrelay.runtime.clouds.aws.json_client import make_client

            self._client = make_client(self.service, endpoint_url=self._endpoint, region=self._region)
        return self._client

    async def _call(self, op: str, **kwargs) -> dict:
        """One API call (`op` in botocore's snake_case), off the event loop."""
        return await asyncio.to_thread(getattr(self.client, op), **kwargs)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
