"""A batch's end: once every line is answered (its chunks' groups done, its fallback jobs final), one
run wins FINALIZING and writes the output and error files (OpenAI's line shapes, with each line's
`cost` and `usage`), then the batch is final with its request counts, usage and cost.

While a batch is `cancelling`: chunks no group has claimed are claimed as cancelled (never run), and
groups that hold only this batch's lines are asked to cancel their provider job (groups.py sends it);
the work they had finished still lands in the output file, as OpenAI's and Azure's cancel return it.
"""

import logging
import os
import tempfile

import orjson

from skyrelay.runtime.batch import records as rec
from skyrelay.runtime.batch.results import completion_doc
from skyrelay.runtime.canonical import Usage
from skyrelay.runtime.jobs.model import FINAL, JobStatus

log = logging.getLogger("skyrelay.batch.finalize")


def _usage(job_usage: dict | None) -> Usage:
    u = job_usage or {}
    return Usage(u.get("input_tokens", 0), u.get("cache_read_tokens", 0), u.get("cache_write_tokens", 0),
                 u.get("output_tokens", 0))


BUFFER = 1 << 18  # the part, output and error files' buffers: 50,000 lines in a few hundred calls


def _read(path: str):
    with open(path, "rb", BUFFER) as f:
        for raw in f:
            if raw.strip():
                yield orjson.loads(raw)


def _fallback_refs(path: str):
    """The part's fallback entries; a line without the bytes `"fallback"` cannot be one, so it is not parsed."""
    with open(path, "rb", BUFFER) as f:
        for raw in f:
            if b'"fallback"' in raw and (doc := orjson.loads(raw))["kind"] == "fallback":
                yield doc


class Finalizer:
    def __init__(self, b):
        self.b = b

    async def advance(self, batch_id: str) -> int:
        """1 when this call finalized the batch."""
        b = self.b
        marker = f"open-batches/{batch_id}"
        r = await b.store.get(batch_id)
        if r is None or r.status in FINAL:
            await b.storage.delete(marker)
            return 0
        if r.attempts == rec.FINALIZING and r.claim and r.claim.get("until", 0) > b.clock():
            return 0
        if not await self._answered(r):
            return 0
        tmp = tempfile.mkdtemp(prefix="skyrelay-final-")
        try:
            return await self._finish(r, marker, tmp)
        finally:
            for name in os.listdir(tmp):
                os.unlink(os.path.join(tmp, name))
            os.rmdir(tmp)

    async def _finish(self, r, marker: str, tmp: str) -> int:
        b = self.b
        parts = await self._parts(r, tmp)
        if parts is None:  # a fallback job is still running
            return 0
        won = await b.store.transition(r.id, [JobStatus.PROCESSING], None, {
            "attempts": rec.FINALIZING, "claim": {"msg": b.name, "until": b.clock() + b.cfg.batch.lease_s},
            "batch": {**r.batch, "times": {**r.batch["times"], "finalizing_at": b.clock()},
                      "cancelled": r.attempts == rec.CANCELLING or r.batch.get("cancelled", False)}},
            expect_attempts=r.attempts)
        if won is None:
            return 0
        await self._write(won, parts, tmp)
        await b.storage.delete(marker)
        return 1

    async def _answered(self, r) -> bool:
        b, ready = self.b, True
        cancelling = r.attempts == rec.CANCELLING
        mine = set(r.batch["chunks"])
        for key in r.batch["chunks"]:
            chunk = rec.parse_chunk(key)
            claim = await b.store.get(rec.claim_id(chunk))
            if claim is None:
                if cancelling and await b.claim(chunk, f"cancelled:{r.id}"):
                    await b.storage.delete(key)
                    continue
                ready = False
                continue
            owner = claim.request.get("group", "")
            if not owner.startswith("grp_"):
                continue
            group = await b.store.get(owner)
            if group is None or group.status in FINAL:
                continue
            ready = False
            if cancelling and set(group.request["chunks"]) <= mine and not (group.metadata or {}).get("cancel"):
                await b.store.transition(group.id, [JobStatus.PROCESSING], None, {"metadata": {"cancel": True}})
        return ready

    async def _parts(self, r, tmp: str) -> list[str] | None:
        """The batch's part files, downloaded (None while a fallback job of it is still running)."""
        paths = []
        for key in await self.b.storage.list(f"batches/{r.id}/parts"):
            path = os.path.join(tmp, f"part-{len(paths)}")
            if not await self.b.storage.get_file(key, path):
                continue
            paths.append(path)
            for doc in _fallback_refs(path):
                job = await self.b.store.get(doc["job"])
                if job is not None and job.status not in FINAL:
                    return None
        return paths

    async def _write(self, r, parts: list[str], tmp: str) -> None:
        """The output and error files, a line at a time (in no particular order, as OpenAI's)."""
        b = self.b
        out_path, err_path = os.path.join(tmp, "output.jsonl"), os.path.join(tmp, "errors.jsonl")
        counts = {"total": r.batch["lines"], "completed": 0, "failed": 0}
        usage, cost = Usage(), 0.0
        with open(out_path, "wb", BUFFER) as out, open(err_path, "wb", BUFFER) as err:
            for path in parts:
                for p in _read(path):
                    if p["kind"] == "fallback":
                        p["job_record"] = await b.store.get(p["job"])
                    line, u, c = self._line(r, p)
                    if line.get("error") is None:
                        counts["completed"] += 1
                        usage, cost = usage + u, cost + c
                        out.write(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE))
                    else:
                        counts["failed"] += 1
                        err.write(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE))
        tenant = r.batch["tenant"]
        ids = {}
        for kind, path in (("output", out_path), ("error", err_path)):
            size = os.path.getsize(path)
            if not size:
                continue
            file_id = f"file-{r.id.removeprefix('batch_')}-{kind}"
            key = f"batches/{r.id}/{kind}.jsonl"
            await b.storage.put_file(key, path)
            await b.store.create(rec.record(file_id, rec.files_of(tenant), JobStatus.COMPLETE, b.clock(),
                                            b.cfg.store.ttl_s, batch={"kind": "file", "key": key, "bytes": size,
                                                                      "filename": f"{r.id}_{kind}.jsonl",
                                                                      "purpose": "batch_output"}))
            ids[kind] = file_id
        now = b.clock()
        cancelled = r.batch.get("cancelled")
        state = "cancelled" if cancelled else "completed"
        times = {**r.batch["times"], f"{state}_at": now}
        await b.store.transition(r.id, [JobStatus.PROCESSING], JobStatus.COMPLETE, {
            "attempts": rec.FINAL, "claim": None, "finished_at": now,
            "batch": {**r.batch, "state": state, "times": times},
            "result": {"output_file_id": ids.get("output"), "error_file_id": ids.get("error"), "request_counts": counts,
                       "usage": {"input_tokens": usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens,
                                 "input_tokens_details": {"cached_tokens": usage.cache_read_tokens},
                                 "output_tokens": usage.output_tokens,
                                 "output_tokens_details": {"reasoning_tokens": 0},
                                 "total_tokens": usage.total_tokens},
                       "cost": round(cost, 10)}}, expect_attempts=rec.FINALIZING)

    def _line(self, r, p: dict) -> tuple[dict, Usage, float]:
        """An output or error line (OpenAI's shape) for one part entry, with its usage and cost."""
        if p["kind"] == "ok":
            return ({"id": p["id"], "custom_id": p["custom_id"], "response": p["response"], "error": None,
                     "usage": p["usage"], "cost": p["cost"], "mode": "batch", "served_by": p.get("served_by")},
                    _usage(p["usage"]), p["cost"])
        if p["kind"] == "error":
            return {"id": f"batch_req_{r.id}-{p['n']}", "custom_id": p["custom_id"], "response": None,
                    "error": p["error"]}, Usage(), 0.0
        job = p.get("job_record")
        if job is None:
            return {"id": f"batch_req_{p['job']}", "custom_id": p["custom_id"], "response": None,
                    "error": {"code": "expired", "message": "the on-demand job of this line expired"}}, Usage(), 0.0
        if job.status != JobStatus.COMPLETE:
            return {"id": f"batch_req_{job.id}", "custom_id": p["custom_id"], "response": None,
                    "error": job.error or {"code": "failed", "message": "failed"}}, Usage(), 0.0
        u = _usage(job.usage)
        body = completion_doc("chatcmpl-" + job.id, job.model, int(job.finished_at or job.updated_at),
                              job.result["text"], job.result["finish_reason"], u)
        return ({"id": f"batch_req_{job.id}", "custom_id": p["custom_id"],
                 "response": {"status_code": 200, "request_id": job.id, "body": body}, "error": None,
                 "usage": job.usage, "cost": job.cost or 0.0, "mode": "on_demand", "served_by": job.served_by},
                u, job.cost or 0.0)
