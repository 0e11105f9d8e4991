"""The batch API's logic, independent of HTTP: files (upload, retrieve, content), batches (create,
retrieve, list, cancel) and single jobs with `mode: batch`.

Everything a batch needs is checked before anything is stored: the file's every line (lines.py), the
tier's model access, max_tokens cap and TPM reservation per line, the tenant's request rate. A file or
batch that fails a check leaves no object and no record (the upload is spooled to a local temporary
file, checked, and only then put in object storage).
"""

import os
import tempfile
import time
from collections.abc import Callable

from skyrelay.runtime.batch import records as rec
from skyrelay.runtime.batch.intake import ChunkWriter, deployment_key
from skyrelay.runtime.batch.lines import LineChecker, check_file
from skyrelay.runtime.errors import NotFound, SkyrelayError, ValidationFailed
from skyrelay.runtime.jobs.model import FINAL, Job, JobStatus

WINDOWS = {"24h": 86400.0}
FILE_PURPOSES = ("batch",)


class BatchNotCancellable(SkyrelayError):
    status, code = 409, "batch_not_cancellable"


def _fail(field: str, problem: str):
    raise ValidationFailed(f"{field}: {problem}")


def file_object(r: Job) -> dict:
    b = r.batch or {}
    return {"id": r.id, "object": "file", "bytes": b.get("bytes", 0), "created_at": int(r.created_at),
            "filename": b.get("filename", ""), "purpose": b.get("purpose", "batch"), "status": "processed",
            "expires_at": int(r.expires_at), "status_details": None}


def batch_object(r: Job) -> dict:
    b, res = r.batch or {}, r.result or {}
    times = b.get("times", {})
    out = {"id": r.id, "object": "batch", "endpoint": b.get("endpoint"), "errors": res.get("errors"),
           "input_file_id": b.get("input_file_id"), "completion_window": b.get("completion_window", "24h"),
           "status": b.get("state"), "output_file_id": res.get("output_file_id"),
           "error_file_id": res.get("error_file_id"), "created_at": int(r.created_at),
           "expires_at": int(b.get("deadline", r.expires_at)),
           "request_counts": res.get("request_counts") or {"total": b.get("lines", 0), "completed": 0, "failed": 0},
           "metadata": r.metadata}
    for name in ("in_progress_at", "finalizing_at", "completed_at", "failed_at", "expired_at", "cancelling_at",
                 "cancelled_at"):
        out[name] = int(times[name]) if times.get(name) is not None else None
    if res.get("usage") is not None:
        out["usage"] = res["usage"]
        out["cost"] = res.get("cost")  # skyrelay: the batch's cost at the prices it was served at
    return out


class BatchService:
    """`router` gives tiers, model classes and the limiter; `config` is the RouterConfig."""

    def __init__(self, store, queue, storage, cfg, config, router, clock: Callable[[], float] = time.time):
        self.store, self.queue, self.storage, self.cfg = store, queue, storage, cfg
        self.config, self.router, self.clock = config, router, clock
        self.ttl = cfg.store.ttl_s

    def _checker(self, tenant) -> LineChecker:
        return LineChecker(self.router.tiers[tenant.tier], self.router.model_classes,
                           self.config.api.default_max_tokens)

    # ---- files ----
    async def upload_file(self, tenant, purpose: str | None, filename: str, path: str, size: int) -> Job:
        if purpose not in FILE_PURPOSES:
            _fail("purpose", "must be batch")
        lines = sum(1 for _ in check_file(path, self._checker(tenant), self.cfg.batch.max_lines))
        file_id = rec.new_id("file-")
        key = f"files/{file_id}.jsonl"
        await self.storage.put_file(key, path)
        r = rec.record(file_id, rec.files_of(tenant.name), JobStatus.COMPLETE, self.clock(), self.ttl,
                       batch={"kind": "file", "key": key, "bytes": size, "filename": filename[:255],
                              "purpose": purpose, "lines": lines})
        await self.store.create(r)
        return r

    async def get_file(self, tenant: str, file_id: str) -> Job:
        r = await self.store.get(file_id, tenant=rec.files_of(tenant))
        if r is None:
            raise NotFound(f"no file {file_id!r}")
        return r

    async def file_content(self, tenant: str, file_id: str) -> str:
        """A local temporary file holding the content (the caller streams and deletes it)."""
        r = await self.get_file(tenant, file_id)
        fd, path = tempfile.mkstemp(prefix="skyrelay-file-")
        os.close(fd)
        if not await self.storage.get_file(r.batch["key"], path):
            os.unlink(path)
            raise NotFound(f"the content of file {file_id!r} is gone")
        return path

    # ---- batches ----
    def _parse(self, doc) -> tuple[str, str, str, dict | None]:
        if not isinstance(doc, dict):
            _fail("body", "must be a JSON object")
        for name in sorted(doc.keys() - {"input_file_id", "endpoint", "completion_window", "metadata"}):
            if doc[name] is not None:
                _fail(name, "not supported")
        file_id, endpoint, window = doc.get("input_file_id"), doc.get("endpoint"), doc.get("completion_window")
        if not isinstance(file_id, str) or not file_id:
            _fail("input_file_id", "required")
        if endpoint != "/v1/chat/completions":
            _fail("endpoint", "must be /v1/chat/completions")
        if not isinstance(window, str) or window not in WINDOWS:
            _fail("completion_window", "must be 24h")
        metadata = doc.get("metadata")
        if metadata is not None and (not isinstance(metadata, dict) or len(metadata) > 16 or not all(
                isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 512
                for k, v in metadata.items())):
            _fail("metadata", "at most 16 string pairs (keys up to 64, values up to 512 characters)")
        return file_id, endpoint, window, metadata

    async def create(self, tenant, doc) -> Job:
        file_id, endpoint, window, metadata = self._parse(doc)
        source = await self.get_file(tenant.name, file_id)
        if source.batch.get("purpose") != "batch":
            _fail("input_file_id", f"{file_id} is not a batch input file")
        tier = self.router.tiers[tenant.tier]
        if self.router.limiter is not None:  # one request on the tenant's rate, as a job submit is
            reservation = await self.router.limiter.acquire(f"{tenant.name}/jobs", tier, 0, False)
            await self.router.limiter.settle(reservation, tier, 0)
        path = await self.file_content(tenant.name, file_id)
        batch_id = rec.new_id("batch_")
        writer = ChunkWriter(self.storage, self.config, self.clock)
        try:
            n = 0
            for line in check_file(path, self._checker(tenant), self.cfg.batch.max_lines):
                writer.add(batch_id, tenant.name, line.number, line.custom_id, line.request, line.tokens)
                n += 1
            chunks = await writer.finish()
        finally:
            writer.discard()
            os.unlink(path)
        now = self.clock()
        r = rec.record(batch_id, rec.batches_of(tenant.name), JobStatus.PROCESSING, now, self.ttl,
                       metadata=metadata, step=rec.IN_PROGRESS,
                       batch={"kind": "batch", "state": "in_progress", "tenant": tenant.name, "endpoint": endpoint,
                              "input_file_id": file_id, "completion_window": window, "chunks": chunks, "lines": n,
                              "deadline": now + WINDOWS[window], "times": {"in_progress_at": now}})
        await self.storage.put(f"open-batches/{batch_id}", b"")
        await self.store.create(r)
        return r

    async def get(self, tenant: str, batch_id: str) -> Job:
        r = await self.store.get(batch_id, tenant=rec.batches_of(tenant))
        if r is None:
            raise NotFound(f"no batch {batch_id!r}")
        return r

    async def list(self, tenant: str, limit: int = 20, after: str | None = None) -> tuple[list[Job], bool]:
        """Newest first; `after` is the id of the last batch of the previous page (OpenAI's cursor)."""
        out: list[Job] = []
        cursor, skipping = None, after is not None
        while True:
            page, cursor = await self.store.list(rec.batches_of(tenant), 100, cursor)
            for r in page:
                if skipping:
                    skipping = r.id != after
                    continue
                out.append(r)
                if len(out) > limit:
                    return out[:limit], True
            if cursor is None:
                return out, False

    async def cancel(self, tenant: str, batch_id: str) -> Job:
        r = await self.get(tenant, batch_id)
        if r.attempts == rec.CANCELLING:
            return r
        if r.attempts != rec.IN_PROGRESS:
            raise BatchNotCancellable(f"batch {batch_id} is {r.batch['state']}")
        now = self.clock()
        b = {**r.batch, "state": "cancelling", "times": {**r.batch["times"], "cancelling_at": now}}
        done = await self.store.transition(r.id, [JobStatus.PROCESSING], None, {"batch": b, "attempts": rec.CANCELLING},
                                           expect_attempts=rec.IN_PROGRESS)
        if done is None:
            current = await self.get(tenant, batch_id)
            if current.attempts == rec.CANCELLING:
                return current
            raise BatchNotCancellable(f"batch {batch_id} is {current.batch['state']}")
        return done

    # ---- single jobs (`POST /v1/jobs` with mode batch) ----
    async def hold(self, job: Job, request, tokens: int) -> Job:
        """Writes the job's one-line chunk, then the job: PROCESSING, held by the batcher (a stray queue
        message meets a live claim and is dropped) until its provider batch answers or it falls back."""
        writer = ChunkWriter(self.storage, self.config, self.clock)
        writer.add(job.id, job.tenant, 1, job.id, request, tokens)
        keys = await writer.finish()
        deployment = deployment_key(self.config, request.model)
        job.status = JobStatus.PROCESSING
        job.claim = {"msg": "batcher", "until": job.expires_at}
        job.batch = {"state": "waiting", "deployment": deployment, "chunk": keys[0]}
        return job

    async def cancel_job(self, job: Job) -> Job | None:
        """A held job (waiting or in a provider job) ends FAILED `cancelled`; its result, if it comes, is dropped."""
        if job.status in FINAL or not job.batch or job.batch.get("state") not in ("waiting", "submitted"):
            return None
        return await self.store.transition(job.id, [JobStatus.PROCESSING], JobStatus.FAILED, {
            "error": {"code": "cancelled", "message": "cancelled by the client"}, "finished_at": self.clock(),
            "claim": None, "batch": {**job.batch, "state": "cancelled"},
            "webhook": {**job.webhook, "state": "skipped"} if job.webhook else None})
