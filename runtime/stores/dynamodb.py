"""The DynamoDB JobStore, on the single table AsyncJobs deploys (keys `pk`/`sk`, GSI `by_tenant`).

Items:
- job:          pk=JOB#<id>            sk=JOB   tenant, status, attempts, version, expires_at, doc (JSON),
                                                 gsi1pk=TENANT#<tenant>, gsi1sk=<created_at>#<id>,
                                                 while PENDING only: gsi2pk=STATUS#PENDING#<shard>,
                                                 gsi2sk=<updated_at, zero-padded>#<id>
- idempotency:  pk=IDEM#<tenant>#<key> sk=IDEM  job_id, expires_at
(the DynamoDB limiter keeps its counters in the same table under pk=LIMIT#...).

The store template (runtime/stores/template.py) does create, get, transition and find_idempotent;
this adapter supplies its reads and conditional writes:
- `_insert` with an idempotency key is one transaction: the key item (absent or expired) and the job;
- `_replace` is a put conditional on the item's optimistic `version`, so concurrent updates never
  lose each other and completion happens once (the template re-checks the status after a lost race).
- the table's TTL attribute (`ttl_attribute`, `expires_at` unless the component overrides it) holds
  the expiry in epoch seconds; TTL deletion is lazy, so reads filter expired items on `expires_at_exact`.
- `list` queries the `by_tenant` index newest first; the cursor is the last item's key (base64 JSON).
- `stale` queries `by_status`, a sparse GSI (keys and `expires_at_exact` only) that only PENDING jobs
  carry (every transition rewrites the item, so leaving PENDING removes them), sharded by job id over
  `STATUS_SHARDS` so one hot partition does not throttle submits. The sweeper queries each shard with
  `gsi2sk < <updated_before>`, merges them page by page, and re-reads each job consistently (the
  index is eventually consistent). Final jobs are never stale (`[]`); other statuses raise ValueError.

The client (`runtime/clouds/aws/adapter.py`) is made on first use; calls run in a thread.
"""

import asyncio
import time
from collections.abc import Callable
from typing import Any

from skyrelay.runtime.clouds.aws.adapter import AwsAdapter
from skyrelay.runtime.clouds.aws.errors import error_code
from skyrelay.runtime.jobs.model import Job, JobStatus
from skyrelay.runtime.stores.template import VersionedStore, decode_cursor, encode_cursor

INDEX = "by_tenant"
STATUS_INDEX = "by_status"
STATUS_SHARDS = 4
STALE_INDEXED = frozenset({JobStatus.PENDING})
TTL_ATTRIBUTE = "expires_at"


def create_table(client, name: str) -> None:
    """The table AsyncJobs deploys (for tests and local runs against an emulator)."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": INDEX,
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": STATUS_INDEX,
                "KeySchema": [
                    {"AttributeName": "gsi2pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi2sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["expires_at_exact"]},
            },
        ],
    )




def _job_key(job_id: str) -> dict:
    return {"pk": {"S": f"JOB#{job_id}"}, "sk": {"S": "JOB"}}


def _idem_key(tenant: str, key: str) -> dict:
    return {"pk": {"S": f"IDEM#{tenant}#{key}"}, "sk": {"S": "IDEM"}}


def _sort_key(job: Job) -> str:
    return f"{job.created_at:020.6f}#{job.id}"


def _time_key(t: float) -> str:
    """Zero-padded, so string order is time order (epoch seconds, microseconds)."""
    return f"{max(t, 0.0):020.6f}"


def _status_pk(status: JobStatus, job_id: str) -> str:
    import zlib

    return f"STATUS#{status.value}#{zlib.crc32(job_id.encode()) % STATUS_SHARDS}"


class DynamoJobStore(AwsAdapter, VersionedStore):
    """The store template (runtime/stores/template.py) on DynamoDB's conditional writes."""

    service = "dynamodb"

    def __init__(
        self,
        table: str,
        client: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        clock: Callable[[], float] = time.time,
        ttl_attribute: str = TTL_ATTRIBUTE,
    ):
        AwsAdapter.__init__(self, client, endpoint_url, region)
        VersionedStore.__init__(self, clock)
        self.table = table
        self.ttl_attribute = ttl_attribute  # the attribute the table's TTL deletes on (epoch seconds)

    def _item(self, job: Job, version: int) -> dict:
        return {
            **_job_key(job.id),
            "tenant": {"S": job.tenant},
            "status": {"S": job.status.value},
            "attempts": {"N": str(job.attempts)},
            "version": {"N": str(version)},
            self.ttl_attribute: {"N": str(int(job.expires_at))},
            "expires_at_exact": {"N": repr(job.expires_at)},
            "gsi1pk": {"S": f"TENANT#{job.tenant}"},
            "gsi1sk": {"S": _sort_key(job)},
            "doc": {"S": job.dumps().decode()},
            **({"gsi2pk": {"S": _status_pk(job.status, job.id)},
                "gsi2sk": {"S": f"{_time_key(job.updated_at)}#{job.id}"}} if job.status in STALE_INDEXED else {}),
        }

    # ---- the template's operations ----
    async def _load(self, job_id: str) -> tuple[Job, int] | None:
        out = await self._call("get_item", TableName=self.table, Key=_job_key(job_id), ConsistentRead=True)
        item = out.get("Item")
        return (Job.loads(item["doc"]["S"]), int(item["version"]["N"])) if item is not None else None

    async def _replace(self, job: Job, version: int) -> int | None:
        try:
            await self._call(
                "put_item",
                TableName=self.table,
                Item=self._item(job, version + 1),
                ConditionExpression="#v = :v AND expires_at_exact > :now",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues={":v": {"N": str(version)}, ":now": {"N": repr(self.clock())}},
            )
        except Exception as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return None  # someone else wrote first
        return version + 1

    async def _insert(self, job: Job, now: float) -> bool:
        """The job item if absent; with an idempotency key, one transaction with the key item (absent
        or expired)."""
        put_job = {"TableName": self.table, "Item": self._item(job, 1), "ConditionExpression": "attribute_not_exists(pk)"}
        try:
            if not job.idempotency_key:
                await self._call("put_item", **put_job)
                return True
            await self._call("transact_write_items", TransactItems=[
                {"Put": {
                    "TableName": self.table,
                    "Item": {**_idem_key(job.tenant, job.idempotency_key), "job_id": {"S": job.id},
                             self.ttl_attribute: {"N": str(int(job.expires_at))},
                             "expires_at_exact": {"N": repr(job.expires_at)}},
                    "ConditionExpression": "attribute_not_exists(pk) OR expires_at_exact <= :now",
                    "ExpressionAttributeValues": {":now": {"N": repr(now)}},
                }},
                {"Put": put_job},
            ])
            return True
        except Exception as exc:
            if error_code(exc) not in ("ConditionalCheckFailedException", "TransactionCanceledException",
                                       "TransactionConflictException"):
                raise
            return False

    async def _key_owner(self, tenant: str, key: str, now: float) -> str | None:
        out = await self._call("get_item", TableName=self.table, Key=_idem_key(tenant, key), ConsistentRead=True)
        item = out.get("Item")
        if item is None or float(item["expires_at_exact"]["N"]) <= now:
            return None
        return item["job_id"]["S"]

    # ---- queries ----
    async def list(
        self, tenant: str, limit: int = 50, cursor: str | None = None, status: JobStatus | None = None
    ) -> tuple[list[Job], str | None]:
        now = self.clock()
        start = decode_cursor(cursor) if cursor else None
        names = {"#e": "expires_at_exact"}
        values: dict[str, Any] = {":t": {"S": f"TENANT#{tenant}"}, ":now": {"N": repr(now)}}
        filt = "#e > :now"
        if status is not None:
            names["#s"] = "status"
            values[":s"] = {"S": JobStatus(status).value}
            filt += " AND #s = :s"
        jobs: list[Job] = []
        keys: list[dict] = []
        while len(jobs) <= limit:
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": INDEX,
                "KeyConditionExpression": "gsi1pk = :t",
                "FilterExpression": filt,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
                "ScanIndexForward": False,
                "Limit": limit + 1 - len(jobs),
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            out = await self._call("query", **kwargs)
            for item in out.get("Items", []):
                jobs.append(Job.loads(item["doc"]["S"]))
                keys.append({k: item[k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")})
            start = out.get("LastEvaluatedKey")
            if not start:
                break
        if len(jobs) > limit:
            return jobs[:limit], encode_cursor(keys[limit - 1])
        return jobs, None

    async def stale(self, status: JobStatus, updated_before: float, limit: int = 100) -> "list[Job]":
        status = JobStatus(status)
        if status not in STALE_INDEXED:
            if status in (JobStatus.COMPLETE, JobStatus.FAILED):
                return []  # final jobs are never stale
            raise ValueError(f"DynamoJobStore.stale: only {sorted(s.value for s in STALE_INDEXED)} are indexed")
        if limit <= 0:
            return []
        now = self.clock()
        before = _time_key(updated_before)
        # A merge of the shards, oldest first, each read page by page as it runs dry.
        shards = [{"pk": f"STATUS#{status.value}#{n}", "items": [], "start": None, "done": False}
                  for n in range(STATUS_SHARDS)]
        jobs: list[Job] = []
        while len(jobs) < limit:
            # every shard must show its oldest item (or be exhausted) before the smallest is taken;
            # a page can come back empty (Limit counts items before the expiry filter)
            while dry := [sh for sh in shards if not sh["items"] and not sh["done"]]:
                await asyncio.gather(*(self._stale_page(sh, before, now, limit) for sh in dry))
            live = [sh for sh in shards if sh["items"]]
            if not live:
                break
            head = min(live, key=lambda sh: sh["items"][0])
            sk = head["items"].pop(0)
            loaded = await self._loaded(sk.rsplit("#", 1)[1])  # the index is eventually consistent
            if loaded is None:
                continue
            job = loaded[0]
            if job.status == status and job.updated_at < updated_before and not job.expired(now):
                jobs.append(job)
        return jobs

    async def _stale_page(self, shard: dict, before: str, now: float, limit: int) -> None:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "gsi2pk = :p AND gsi2sk < :b",
            "FilterExpression": "expires_at_exact > :now",  # projected into the index
            "ExpressionAttributeValues": {":p": {"S": shard["pk"]}, ":b": {"S": before}, ":now": {"N": repr(now)}},
            "ScanIndexForward": True,
            "Limit": limit,
        }
        if shard["start"]:
            kwargs["ExclusiveStartKey"] = shard["start"]
        out = await self._call("query", **kwargs)
        shard["items"] += [i["gsi2sk"]["S"] for i in out.get("Items", [])]
        shard["start"] = out.get("LastEvaluatedKey")
        shard["done"] = not shard["start"]


def from_config(cfg) -> DynamoJobStore:
    """Factory for runtime.stores.ADAPTERS (`jobs.store.backend: dynamodb`), from the store config's
    `options`: `table` (required), `endpoint_url`, `region`, `ttl_attribute` (default `expires_at`).
    On Lambda, bootstrap fills them from the variables AsyncJobs sets."""
    options = dict(getattr(cfg, "options", None) or {})
    if not options.get("table"):
        raise ValueError("jobs.store.options.table: required for the dynamodb backend")
    return DynamoJobStore(options["table"], endpoint_url=options.get("endpoint_url"), region=options.get("region"),
                          ttl_attribute=options.get("ttl_attribute") or TTL_ATTRIBUTE)
