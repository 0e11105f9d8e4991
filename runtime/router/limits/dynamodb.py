"""The serverless shared limiter on AWS: per-tenant limits in the job table, shared by every Lambda
container without a VPC or Redis. The algorithm is runtime/router/limits/versioned.py; this adapter
keeps each tenant's state in one item (pk=LIMIT#<tenant>, sk=LIMIT: the state as JSON and an
optimistic `version`), written with a put conditional on that version (or on the item's absence).
Idle tenants' items expire through the table's TTL attribute. Time is the container clock
(NTP-synced on Lambda).
"""

import json
import time
from collections.abc import Callable
from typing import Any

from skyrelay.runtime.clouds.aws.adapter import AwsAdapter
from skyrelay.runtime.clouds.aws.errors import error_code
from skyrelay.runtime.router.limits.versioned import VersionedStateLimiter, expires_in


class DynamoDbLimiter(AwsAdapter, VersionedStateLimiter):
    service = "dynamodb"

    def __init__(
        self,
        table: str,
        client: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        stream_lease_s: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ):
        AwsAdapter.__init__(self, client, endpoint_url, region)
        VersionedStateLimiter.__init__(self, stream_lease_s, clock)
        self.table = table

    @staticmethod
    def _key(tenant: str) -> dict:
        return {"pk": {"S": f"LIMIT#{tenant}"}, "sk": {"S": "LIMIT"}}

    async def _read(self, tenant: str) -> tuple[dict, int | None]:
        out = await self._call("get_item", TableName=self.table, Key=self._key(tenant), ConsistentRead=True)
        item = out.get("Item")
        if item is None:
            return {}, None
        return json.loads(item["state"]["S"]), int(item["version"]["N"])

    async def _write(self, tenant: str, state: dict, version: int | None, now: float) -> int | None:
        new = (version or 0) + 1
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Item": {
                **self._key(tenant),
                "state": {"S": json.dumps(state, separators=(",", ":"))},
                "version": {"N": str(new)},
                "expires_at": {"N": str(int(now + expires_in(state, now)))},
            },
        }
        if version:
            kwargs["ConditionExpression"] = "version = :v"
            kwargs["ExpressionAttributeValues"] = {":v": {"N": str(version)}}
        else:
            kwargs["ConditionExpression"] = "attribute_not_exists(pk)"
        try:
            await self._call("put_item", **kwargs)
            return new
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
