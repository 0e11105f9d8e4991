"""One group = one provider batch job: its steps, each taken once however many batcher runs race.

    FORMING --claims--> CLAIMED --lines + input written--> INPUT --submit (leased)--> SUBMITTING
      --provider job id--> RUNNING --provider job final (leased)--> APPLYING --results applied--> DONE

Every step is `transition(expect_attempts=step)` on the group record (records.py), so two runs of a
tick never both take a step. The two steps with outside effects hold a lease (`claim.until`):
- SUBMITTING: the run that won it submits. A run that finds it past its lease (the submitter died)
  first makes sure no job exists: Bedrock's `clientRequestToken` is the group id, so submitting again
  returns the same job; on Azure and Vertex it looks the job up by its name (the group id, in Azure's
  `metadata` and Vertex's `displayName`) and submits only when none is there. If the look-up itself
  fails, the lines run on demand rather than risk a second provider job.
- APPLYING: results are written with conditional transitions (a job completes once) and files under
  deterministic keys (a rewrite writes the same bytes), so a run that takes over a stale lease
  re-applies without applying anything twice.
Record ids are the line's index in `groups/<id>/lines.jsonl` (the chunks concatenated).
"""

import logging
import os
import shutil
import tempfile

import orjson

from skyrelay.runtime.batch import records as rec
from skyrelay.runtime.batch.results import Apply
from skyrelay.runtime.batch.transport import BatchCallFailed
from skyrelay.runtime.canonical import ChatRequest
from skyrelay.runtime.jobs.model import FINAL, JobStatus
from skyrelay.runtime.providers.batch import BatchSettings, translator_for

log = logging.getLogger("skyrelay.batch.groups")
BUFFER = 1 << 18  # the group files' buffers: 50,000 lines go through them in a few hundred calls


class Groups:
    """The group steps, given the batcher's parts (see batcher.py: Batcher)."""

    def __init__(self, b):
        self.b = b

    # ---- the record ----
    async def step(self, r, to: int, updates: dict | None = None, status: JobStatus | None = None,
                   lease: bool = False):
        """Takes the group from its step to `to`; None when another run got there first."""
        updates = {"attempts": to, **(updates or {})}
        updates["claim"] = {"msg": self.b.name, "until": self.b.clock() + self.b.cfg.batch.lease_s} if lease else None
        return await self.b.store.transition(r.id, [JobStatus.PROCESSING], status, updates, expect_attempts=r.attempts)

    def _leased(self, r) -> bool:
        return bool(r.claim) and r.claim.get("until", 0) > self.b.clock()

    async def create(self, deployment: str, chunks: list[rec.Chunk]) -> str:
        gid = rec.group_id(deployment, [c.key for c in chunks])
        await self.b.storage.put(f"{rec.open_prefix(deployment)}/{gid}", b"")  # the index first, then the record
        r = rec.record(gid, rec.BATCHER, JobStatus.PROCESSING, self.b.clock(), self.b.cfg.store.ttl_s,
                       model=deployment, step=rec.FORMING,
                       request={"deployment": deployment, "chunks": [c.key for c in chunks],
                                "lines": sum(c.lines for c in chunks), "tokens": sum(c.tokens for c in chunks)},
                       batch={"kind": "group", "state": "forming"})
        await self.b.store.create(r)
        return gid

    # ---- one look at a group: take every step that is due ----
    async def advance(self, deployment: str, gid: str) -> None:
        marker = f"{rec.open_prefix(deployment)}/{gid}"
        for _ in range(rec.DONE + 1):
            r = await self.b.store.get(gid)
            if r is None or r.status in FINAL:
                await self.b.storage.delete(marker)  # no record: its formation died before any claim
                return
            before = r.attempts
            handler = {rec.FORMING: self._claim, rec.CLAIMED: self._write_input, rec.INPUT: self._submit,
                       rec.SUBMITTING: self._stale_submit, rec.RUNNING: self._poll,
                       rec.APPLYING: self._stale_apply}[r.attempts]
            await handler(r)
            after = await self.b.store.get(gid)
            if after is None or after.attempts == before and after.status not in FINAL:
                return  # nothing more is due now (waiting on the provider, or another run holds it)

    async def _claim(self, r) -> None:
        mine = []
        for key in r.request["chunks"]:
            chunk = rec.parse_chunk(key)
            claim = rec.record(rec.claim_id(chunk), rec.BATCHER, JobStatus.COMPLETE, self.b.clock(),
                               self.b.cfg.store.ttl_s, request={"group": r.id, "key": key})
            stored, _ = await self.b.store.create(claim)
            if stored.request.get("group") == r.id:
                mine.append(chunk)
        request = {**r.request, "chunks": [c.key for c in mine], "lines": sum(c.lines for c in mine),
                   "tokens": sum(c.tokens for c in mine)}
        if not mine:  # every chunk went to another group first
            await self.step(r, rec.DONE, {"request": request, "batch": {**r.batch, "state": "empty"}},
                            JobStatus.COMPLETE)
            return
        await self.step(r, rec.CLAIMED, {"request": request, "batch": {**r.batch, "state": "claimed"}})

    async def _write_input(self, r) -> None:
        """`lines.jsonl` (the chunks, concatenated) and the provider's `input.jsonl`, then the chunks leave
        `pending/`. Both files are rebuilt the same by any run, so losing the step's race costs nothing."""
        dep = self.b.config.deployment(r.request["deployment"])
        tr = translator_for(dep.provider)
        upstream = dep.upstream()
        settings = dep.batch.model_dump()
        tmp = tempfile.mkdtemp(prefix="skyrelay-group-")
        lines_path, input_path = os.path.join(tmp, "lines.jsonl"), os.path.join(tmp, "input.jsonl")
        try:
            index = 0
            with open(lines_path, "wb", BUFFER) as lines, open(input_path, "wb", BUFFER) as inp:
                for key in r.request["chunks"]:
                    part = os.path.join(tmp, "chunk")
                    if not await self.b.storage.get_file(key, part):
                        now = await self.b.store.get(r.id)
                        if now is not None and now.attempts > rec.CLAIMED:
                            return  # another run wrote the input first and removed the chunks
                        raise RuntimeError(f"{r.id}: chunk {key} is gone")
                    with open(part, "rb", BUFFER) as f:
                        raw = b""
                        for raw in f:
                            record = tr.record(str(index), upstream, ChatRequest.from_doc(orjson.loads(raw)["r"]),
                                               settings)
                            inp.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
                            index += 1
                        f.seek(0)
                        shutil.copyfileobj(f, lines, BUFFER)  # the chunk's lines as they are
                        if raw and not raw.endswith(b"\n"):
                            lines.write(b"\n")
            await self.b.storage.put_file(f"groups/{r.id}/lines.jsonl", lines_path)
            updates = {"batch": {**r.batch, "state": "input"}}
            if tr.input_mode == "files":
                with open(input_path, "rb") as f:
                    content = f.read()
                body = await self.b.transport.send(upstream, tr.upload(upstream, f"{r.id}.jsonl", content),
                                                   f"{dep.name}: upload")
                updates["batch"]["input_file"] = tr.uploaded(body)
            else:
                await self.b.storage.put_file(f"groups/{r.id}/input.jsonl", input_path)
        finally:
            for name in os.listdir(tmp):
                os.unlink(os.path.join(tmp, name))
            os.rmdir(tmp)
        if await self.step(r, rec.INPUT, updates) is not None:
            for key in r.request["chunks"]:
                await self.b.storage.delete(key)

    def _settings(self, r, dep) -> BatchSettings:
        tr = translator_for(dep.provider)
        source = r.batch.get("input_file") if tr.input_mode == "files" else \
            self.b.storage.uri(f"groups/{r.id}/input.jsonl")
        return BatchSettings(name=r.id, input=source, output=self.b.storage.uri(f"groups/{r.id}/output/"),
                             role_arn=dep.batch.role_arn, timeout_hours=dep.batch.timeout_hours,
                             invocation=dep.batch.invocation)

    async def _submit(self, r) -> None:
        won = await self.step(r, rec.SUBMITTING, {"batch": {**r.batch, "state": "submitting"}}, lease=True)
        if won is not None:
            await self._send_submit(won)

    async def _send_submit(self, r) -> None:
        dep = self.b.config.deployment(r.request["deployment"])
        tr = translator_for(dep.provider)
        upstream = dep.upstream()
        try:
            body = await self.b.transport.send(upstream, tr.create(upstream, self._settings(r, dep)),
                                               f"{dep.name}: create batch job")
        except BatchCallFailed as exc:
            if exc.retryable:  # back to INPUT: the next tick tries again
                log.warning("%s: submit failed (%s); retrying next tick", r.id, exc)
                await self.step(r, rec.INPUT, {"batch": {**r.batch, "state": "input", "last_error": str(exc)[:300]}})
                return
            log.error("%s: the provider refused the batch job: %s", r.id, exc)
            await self.step(r, rec.APPLYING, {"batch": {**r.batch, "state": "refused", "provider_state": "failed",
                                                        "message": str(exc)[:500]}}, lease=True)
            await self._apply(await self.b.store.get(r.id))
            return
        job_id = tr.created(body)
        now = self.b.clock()
        await self.step(r, rec.RUNNING, {"batch": {**r.batch, "state": "submitted", "provider_job": job_id,
                                                   "submitted_at": now}})
        self.b.observe.submitted(dep.name, r.request["lines"])

    async def _stale_submit(self, r) -> None:
        if self._leased(r):
            return
        dep = self.b.config.deployment(r.request["deployment"])
        tr = translator_for(dep.provider)
        won = await self.step(r, rec.SUBMITTING, None, lease=True)
        if won is None:
            return
        if not hasattr(tr, "find"):  # Bedrock: clientRequestToken = the group id: the same job comes back
            await self._send_submit(won)
            return
        upstream = dep.upstream()
        try:
            job_id = tr.found(await self.b.transport.send(upstream, tr.find(upstream, r.id), f"{dep.name}: find"),
                              r.id)
        except BatchCallFailed as exc:
            log.error("%s: its submitter died mid-submit and the look-up failed (%s); its lines run on demand",
                      r.id, exc)
            won = await self.step(won, rec.APPLYING, {"batch": {**r.batch, "state": "submit_unknown",
                                                                "provider_state": "failed",
                                                                "message": "submit outcome unknown"}}, lease=True)
            if won is not None:
                await self._apply(won)
            return
        if job_id is None:
            await self._send_submit(won)
            return
        await self.step(won, rec.RUNNING, {"batch": {**r.batch, "state": "submitted", "provider_job": job_id,
                                                     "submitted_at": self.b.clock(), "recovered": True}})

    async def _poll(self, r) -> None:
        dep = self.b.config.deployment(r.request["deployment"])
        tr = translator_for(dep.provider)
        upstream = dep.upstream()
        job_id = r.batch["provider_job"]
        overdue = self.b.clock() > r.batch["submitted_at"] + dep.batch.deadline_s
        wanted = (r.metadata or {}).get("cancel") or overdue
        if wanted and not r.batch.get("cancel_sent"):
            try:
                await self.b.transport.send(upstream, tr.cancel(upstream, job_id), f"{dep.name}: cancel")
            except BatchCallFailed as exc:
                log.warning("%s: cancel failed: %s", r.id, exc)
            else:
                reason = "deadline" if overdue else "cancelled"
                r = await self.step(r, rec.RUNNING, {"batch": {**r.batch, "cancel_sent": reason}}) or r
        try:
            status = tr.parse_status(await self.b.transport.send(upstream, tr.status(upstream, job_id),
                                                                  f"{dep.name}: batch status"))
        except BatchCallFailed as exc:
            log.warning("%s: status failed: %s", r.id, exc)
            return
        if status.state == "running":
            if status.raw_state != r.batch.get("provider_raw"):
                await self.step(r, rec.RUNNING, {"batch": {**r.batch, "provider_raw": status.raw_state}})
            return
        won = await self.step(r, rec.APPLYING, {"batch": {
            **r.batch, "state": "applying", "provider_state": status.state, "provider_raw": status.raw_state,
            "message": status.message, "output_file": status.output_file, "error_file": status.error_file}},
            lease=True)
        if won is not None:
            await self._apply(won)

    async def _stale_apply(self, r) -> None:
        if self._leased(r):
            return
        won = await self.step(r, rec.APPLYING, None, lease=True)
        if won is not None:
            await self._apply(won)

    async def _apply(self, r) -> None:
        totals = await Apply(self.b, r).run()
        await self.step(r, rec.DONE, {"result": totals, "finished_at": self.b.clock(),
                                      "batch": {**r.batch, "state": "done"}}, JobStatus.COMPLETE)
        await self.b.storage.delete(f"{rec.open_prefix(r.request['deployment'])}/{r.id}")
