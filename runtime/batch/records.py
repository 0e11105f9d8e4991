"""The batcher's records, kept in the job store so they get its conditional writes on every cloud
(SQLite, DynamoDB, and whatever store a cloud adds), and their keys in object storage.

A record is a `Job` (runtime/jobs/model.py) under a tenant name no API key maps to:
- a file:   id `file-<hex>`,  tenant `<tenant>#files`,   final (COMPLETE) from the start;
- a batch:  id `batch_<hex>`, tenant `<tenant>#batches`, PROCESSING until final;
- a group:  id `grp_<hash>`,  tenant `#batcher`: one provider job's worth of chunks;
- a claim:  id `claim_<chunk>`, tenant `#batcher`: which group (or fallback) a chunk went to.
So `GET /v1/batches` is the store's tenant list, another tenant's batch is a 404, and none of them shows
in `/v1/jobs`. Open records are PROCESSING, never PENDING, so the sweeper never meets them.

A record's `attempts` field is its step (groups: FORMING..DONE, batches: IN_PROGRESS..FINAL): a step
advances with `transition(expect_attempts=step)`, so of any number of concurrent batcher runs exactly
one wins each step (one provider submit, one application of the results).

Object keys:
- `pending/<deployment>/<created ms>-<chunk id>-<lines>-<tokens>.jsonl`: work waiting for a group;
- `open/<deployment>/<group id>`: the index of open groups (an empty object per group);
- `groups/<group id>/input.jsonl`, `groups/<group id>/output/...`: the provider's input and output;
- `files/<file id>.jsonl`: an uploaded batch file; `batches/<batch id>/...`: a batch's parts and files;
- `open-batches/<batch id>`: the index of batches not yet final.
"""

import hashlib
import os
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote

from skyrelay.runtime.jobs.model import Job, JobStatus

BATCHER = "#batcher"
# group steps
FORMING, CLAIMED, INPUT, SUBMITTING, RUNNING, APPLYING, DONE = range(7)
# batch steps
IN_PROGRESS, CANCELLING, FINALIZING, FINAL = range(4)


def files_of(tenant: str) -> str:
    return f"{tenant}#files"


def batches_of(tenant: str) -> str:
    return f"{tenant}#batches"


def new_id(prefix: str) -> str:
    return f"{prefix}{int(time.time() * 1000):012x}{os.urandom(8).hex()}"


def record(record_id: str, tenant: str, status: JobStatus, now: float, ttl_s: float, *, model: str = "",
           request: dict | None = None, result: dict | None = None, batch: dict | None = None,
           metadata: dict | None = None, step: int = 0, claim: dict | None = None) -> Job:
    return Job(id=record_id, tenant=tenant, status=status, request=request or {}, model=model, created_at=now,
               updated_at=now, expires_at=now + ttl_s, priority="batch", result=result, batch=batch,
               metadata=metadata, attempts=step, claim=claim)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A pending chunk, from its key alone (no read needed to decide thresholds)."""

    key: str
    deployment: str
    created_ms: int
    id: str
    lines: int
    tokens: int

    @property
    def created(self) -> float:
        return self.created_ms / 1000.0


def chunk_key(deployment: str, created: float, chunk_id: str, lines: int, tokens: int) -> str:
    return f"pending/{quote(deployment, safe='')}/{int(created * 1000):013d}-{chunk_id}-{lines}-{tokens}.jsonl"


def parse_chunk(key: str) -> Chunk | None:
    try:
        _, dep, name = key.split("/")
        created, chunk_id, lines, tokens = name.removesuffix(".jsonl").split("-")
        return Chunk(key, unquote(dep), int(created), chunk_id, int(lines), int(tokens))
    except ValueError:
        return None


def pending_prefix(deployment: str) -> str:
    return f"pending/{quote(deployment, safe='')}"


def open_prefix(deployment: str) -> str:
    return f"open/{quote(deployment, safe='')}"


def group_id(deployment: str, chunk_keys: list[str]) -> str:
    """Deterministic: the same chunks make the same group, so a retried formation finds its record."""
    digest = hashlib.sha256("\n".join([deployment, *sorted(chunk_keys)]).encode()).hexdigest()
    return "grp_" + digest[:32]


def claim_id(chunk: Chunk) -> str:
    return "claim_" + chunk.id
