"""The job record and its lifecycle.

    PENDING --claim--> PROCESSING --complete--> COMPLETE
       |                  |  \\--fail (final)--> FAILED
       |                  \\--retryable failure / crash--> (PROCESSING, reclaimed on redelivery)
       \\--cancel--> FAILED (error.code = "cancelled")

Every transition is a conditional write on the current status (and, for completion, on the attempt
that claimed the job), so a duplicate or late delivery can never complete a job twice or move it
backwards. COMPLETE and FAILED are final.
"""

import hashlib
import os
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import orjson


class JobStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"

    @property
    def final(self) -> bool:
        return self in (JobStatus.COMPLETE, JobStatus.FAILED)


FINAL = (JobStatus.COMPLETE, JobStatus.FAILED)
OPEN = (JobStatus.PENDING, JobStatus.PROCESSING)
PRIORITIES = ("interactive", "batch")

# Webhook delivery states, recorded on the job next to each attempt.
WEBHOOK_PENDING, WEBHOOK_DELIVERED, WEBHOOK_FAILED = "pending", "delivered", "failed"


def new_job_id() -> str:
    """Sortable-ish, unguessable: 12 hex of milliseconds then 16 random hex."""
    return f"job_{int(time.time() * 1000):012x}{os.urandom(8).hex()}"


def fingerprint(doc: Any) -> str:
    """A stable digest of a submit body, to tell a replay from a different request under one key."""
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


@dataclass(slots=True)
class Job:
    id: str
    tenant: str
    status: JobStatus
    request: dict  # the canonical request, validated at submit (ChatRequest.to_doc / from_doc)
    model: str
    created_at: float
    updated_at: float
    expires_at: float
    preference: str | None = None
    priority: str = "interactive"
    callback_url: str | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None
    metadata: dict | None = None
    attempts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    result: dict | None = None  # {"text", "finish_reason", "provider_model"}
    error: dict | None = None  # {"code", "message"}
    usage: dict | None = None  # canonical Usage fields
    cost: float | None = None
    served_by: str | None = None  # the deployment (provider) that answered
    webhook: dict | None = None  # {"id", "state", "attempts": [{"at", "status", "error", "ms"}]}
    history: list = field(default_factory=list)  # [{"at", "event", ...}] one entry per attempt outcome
    # The delivery that holds a PROCESSING job: {"msg": queue message id, "until": lease end}. Another
    # message for the same job (a duplicate) that meets a live claim is dropped, not run a second time.
    claim: dict | None = None
    # Batch work (runtime/batch/): {"state", "deployment", ...} while a provider batch holds the job, or
    # the record's own fields for the batcher's records (files, batches, groups, claims: records.py).
    batch: dict | None = None

    # ---- (de)serialisation: one JSON document per job; every adapter stores this ----
    def to_doc(self) -> dict:
        d = asdict(self)
        d["status"] = self.status.value
        return d

    def dumps(self) -> bytes:
        return orjson.dumps(self)  # orjson writes the dataclass (and the enum's value) as to_doc() would, ~20x faster

    @classmethod
    def from_doc(cls, d: dict) -> "Job":
        d = dict(d)
        d["status"] = JobStatus(d["status"])
        return cls(**d)

    @classmethod
    def loads(cls, raw: bytes | str) -> "Job":
        return cls.from_doc(orjson.loads(raw))

    def expired(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) >= self.expires_at

    def public(self) -> dict:
        """What `GET /v1/jobs/{id}` and webhooks show: no prompt, no internal bookkeeping."""
        out: dict[str, Any] = {
            "id": self.id,
            "object": "job",
            "status": self.status.value,
            "model": self.model,
            "priority": self.priority,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "expires_at": self.expires_at,
            "attempts": self.attempts,
        }
        if self.preference:
            out["preference"] = self.preference
        if self.metadata is not None:
            out["metadata"] = self.metadata
        if self.result is not None:
            out["result"] = self.result
        if self.error is not None:
            out["error"] = self.error
        if self.usage is not None:
            out["usage"] = self.usage
        if self.cost is not None:
            out["cost"] = self.cost
        if self.served_by is not None:
            out["served_by"] = self.served_by
        if self.batch is not None:
            out["mode"] = "batch"
            out["batch"] = {k: self.batch[k] for k in ("state", "deployment", "batch_id", "custom_id")
                            if self.batch.get(k) is not None}
        if self.callback_url:
            wh = self.webhook or {}
            out["webhook"] = {"id": wh.get("id"), "state": wh.get("state"), "attempts": wh.get("attempts", [])}
        return out

    def summary(self) -> dict:
        """The list view: no result text."""
        out = self.public()
        out.pop("result", None)
        out.pop("webhook", None)
        return out
