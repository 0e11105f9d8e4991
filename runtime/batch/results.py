"""Applying one finished provider job: every output line goes back to the line it answers, by record id
(the line's index in the group), in whatever order the provider wrote them.

- a single job (`job_...`) completes or fails with a conditional transition (once), at the batch price,
  and gets a queue message so the worker delivers its webhook (with its retries);
- a batch's lines go to that batch's part file, `batches/<batch>/parts/<group>.jsonl`, one JSON line
  each (`kind`: ok, error or fallback), written whole under a deterministic key;
- a line the output does not answer: after a failed, expired or deadline-cancelled provider job it
  runs on demand (`fallback.py`) when the deployment allows it, else it fails with the reason; after a
  completed job it fails `missing_from_output`; a cancelled batch's lines are simply not run.
Re-applying (a run that took over a stale lease) repeats no effect: transitions that already happened
fail, and the part files are rewritten with the same bytes.
"""

import logging
import os
import tempfile

import orjson

from skyrelay.runtime.batch.fallback import Fallback
from skyrelay.runtime.batch.transport import BatchCallFailed
from skyrelay.runtime.canonical import ChatResult, Usage
from skyrelay.runtime.jobs.model import FINAL, WEBHOOK_PENDING, JobStatus
from skyrelay.runtime.providers.batch import LineResult, error_of, translator_for
from skyrelay.runtime.router.cost import cost_of

log = logging.getLogger("skyrelay.batch.results")
BUFFER = 1 << 18  # a part file's write buffer: a few hundred lines per write call


def usage_fields(u: Usage) -> dict:
    return {"input_tokens": u.input_tokens, "cache_read_tokens": u.cache_read_tokens,
            "cache_write_tokens": u.cache_write_tokens, "output_tokens": u.output_tokens,
            "total_tokens": u.total_tokens}


def completion_doc(result_id: str, model: str, created: int, text: str, finish: str, u: Usage) -> dict:
    """The `/v1/chat/completions` answer a batch output line carries (OpenAI's shape)."""
    prompt = u.input_tokens + u.cache_read_tokens + u.cache_write_tokens
    return {"id": result_id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": None,
                         "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": u.output_tokens,
                      "total_tokens": prompt + u.output_tokens, "prompt_tokens_details": {"cached_tokens": u.cache_read_tokens}}}


class Apply:
    def __init__(self, b, group):
        self.b, self.r = b, group
        self.dep = b.config.deployment(group.request["deployment"])
        self.tr = translator_for(self.dep.provider)
        self.upstream = self.dep.upstream()
        self.price = self.dep.price.for_batch(self.dep.provider)
        self.settings = self.dep.batch.model_dump()
        self.state = group.batch.get("provider_state", "completed")
        self.totals = {"lines": 0, "completed": 0, "failed": 0, "fallback": 0, "cost": 0.0, "on_demand_cost": 0.0,
                       "usage": usage_fields(Usage())}
        self.parts: dict[str, object] = {}  # batch id -> its part, a local file written line by line
        self._owners: dict[str, object] = {}
        self._tmp = ""

    # ---- inputs ----
    async def _outputs(self, tmp: str) -> list[str]:
        paths = []
        if self.tr.input_mode == "files":
            for file_id in (self.r.batch.get("output_file"), self.r.batch.get("error_file")):
                if not file_id:
                    continue
                try:
                    body = await self.b.transport.send(self.upstream, self.tr.content(self.upstream, file_id),
                                                       f"{self.dep.name}: output file")
                except BatchCallFailed as exc:
                    if exc.retryable:
                        raise
                    log.error("%s: output file %s unreadable: %s", self.r.id, file_id, exc)
                    continue
                path = os.path.join(tmp, f"out-{len(paths)}")
                with open(path, "wb") as f:
                    f.write(body)
                paths.append(path)
            return paths
        for key in await self.b.storage.list(f"groups/{self.r.id}/output"):
            if key.endswith(self.tr.output_suffix) and "manifest" not in key.rsplit("/", 1)[-1]:
                path = os.path.join(tmp, f"out-{len(paths)}")
                if await self.b.storage.get_file(key, path):
                    paths.append(path)
        return paths

    async def _owner(self, owner_id: str, tenant: str):
        """The live job or batch a line belongs to (None: gone, e.g. its submit died after its chunk)."""
        if owner_id not in self._owners:
            from skyrelay.runtime.batch.records import batches_of

            if owner_id.startswith("batch_"):
                self._owners[owner_id] = await self.b.store.get(owner_id, tenant=batches_of(tenant))
            else:
                self._owners[owner_id] = await self.b.store.get(owner_id)
        return self._owners[owner_id]

    # ---- the pass ----
    async def run(self) -> dict:
        tmp = self._tmp = tempfile.mkdtemp(prefix="skyrelay-apply-")
        try:
            lines_path = os.path.join(tmp, "lines.jsonl")
            if not await self.b.storage.get_file(f"groups/{self.r.id}/lines.jsonl", lines_path):
                lines_path = None
            meta = []
            if lines_path:
                with open(lines_path, "rb") as f:
                    for raw in f:
                        line = orjson.loads(raw)
                        meta.append((line["o"], line["t"], line["n"], line["c"], line["r"]["model"]))
            self.totals["lines"] = len(meta)
            seen = bytearray(len(meta))
            for path in await self._outputs(tmp) if meta and self.r.batch.get("provider_job") else []:
                with open(path, "rb") as f:
                    for raw in f:
                        if not raw.strip():
                            continue
                        try:
                            lr = self.tr.output_line(self.upstream, raw, self.settings)
                        except (ValueError, KeyError, TypeError) as exc:
                            log.error("%s: unreadable output line: %s", self.r.id, exc)
                            continue
                        idx = int(lr.record_id) if str(lr.record_id or "").isdigit() else -1
                        if not 0 <= idx < len(meta) or seen[idx]:
                            log.error("%s: output line for unknown or repeated record %r", self.r.id, lr.record_id)
                            continue
                        seen[idx] = 1
                        await self._answer(idx, meta[idx], lr)
            missing = [i for i in range(len(meta)) if not seen[i]]
            if missing:
                await self._missing(missing, meta, lines_path)
            for owner, part in self.parts.items():
                part.close()
                await self.b.storage.put_file(f"batches/{owner}/parts/{self.r.id}.jsonl", part.name)
        finally:
            for part in self.parts.values():
                part.close()
            for name in os.listdir(tmp):
                os.unlink(os.path.join(tmp, name))
            os.rmdir(tmp)
        t = self.totals
        self.b.observe.lines(self.dep.name, "batch", t["completed"], t["failed"], t["cost"], t["on_demand_cost"])
        return t

    async def _answer(self, idx: int, m: tuple, lr: LineResult) -> None:
        owner_id, tenant, n, custom_id, model = m
        owner = await self._owner(owner_id, tenant)
        if owner is None:
            return
        if lr.result is not None:
            cost, usage = cost_of(lr.result.usage, self.price), usage_fields(lr.result.usage)
            self._count_ok(lr.result, cost, usage)
            await self._ok(idx, owner, n, custom_id, model, lr.result, cost, usage)
        else:
            self.totals["failed"] += 1
            await self._error(owner, n, custom_id, lr.error)

    def _count_ok(self, result: ChatResult, cost: float, usage: dict) -> None:
        t = self.totals
        t["completed"] += 1
        t["cost"] += cost
        t["on_demand_cost"] += cost_of(result.usage, self.dep.price)
        total = t["usage"]
        for k, v in usage.items():
            total[k] += v

    async def _ok(self, idx, owner, n, custom_id, model, result: ChatResult, cost: float, usage: dict) -> None:
        now = self.b.clock()
        if owner.id.startswith("batch_"):
            rid = f"{self.r.id}-{idx}"
            body = completion_doc("chatcmpl-" + rid, model, int(now), result.text, result.finish_reason, result.usage)
            self._part(owner.id, {"kind": "ok", "n": n, "custom_id": custom_id, "id": "batch_req_" + rid,
                                  "response": {"status_code": 200, "request_id": rid, "body": body},
                                  "usage": usage, "cost": cost, "served_by": self.dep.name})
            return
        done = await self.b.store.transition(owner.id, [JobStatus.PROCESSING], JobStatus.COMPLETE, {
            "result": {"text": result.text, "finish_reason": result.finish_reason,
                       "provider_model": result.provider_model},
            "usage": usage, "cost": cost, "served_by": self.dep.name, "finished_at": now,
            "error": None, "claim": None, "batch": {**(owner.batch or {}), "state": "completed", "group": self.r.id},
            "history": owner.history + [{"at": now, "event": "completed", "batch_group": self.r.id,
                                         "served_by": self.dep.name}]})
        await self._settled(owner.id, done)

    async def _error(self, owner, n, custom_id, error: dict) -> None:
        if owner.id.startswith("batch_"):
            self._part(owner.id, {"kind": "error", "n": n, "custom_id": custom_id, "error": error})
            return
        now = self.b.clock()
        done = await self.b.store.transition(owner.id, [JobStatus.PROCESSING], JobStatus.FAILED, {
            "error": error, "finished_at": now, "claim": None,
            "batch": {**(owner.batch or {}), "state": "failed", "group": self.r.id},
            "history": owner.history + [{"at": now, "event": "failed", "batch_group": self.r.id, "error": error}]})
        await self._settled(owner.id, done)

    async def _settled(self, job_id: str, done) -> None:
        """The worker delivers the webhook of a job this group finished; on a re-apply, a job already final
        from this group whose webhook is still pending gets its message again (it may have been lost)."""
        job = done or await self.b.store.get(job_id)
        if job is None or job.status not in FINAL or not job.callback_url:
            return
        ours = (job.batch or {}).get("group") == self.r.id
        if done is not None or (ours and (job.webhook or {}).get("state") == WEBHOOK_PENDING):
            await self.b.queue.enqueue(job.id, "batch")

    def _part(self, owner_id: str, doc: dict) -> None:
        part = self.parts.get(owner_id)
        if part is None:
            part = self.parts[owner_id] = open(os.path.join(self._tmp, f"part-{len(self.parts)}"), "wb", BUFFER)  # noqa: SIM115
        part.write(orjson.dumps(doc, option=orjson.OPT_APPEND_NEWLINE))

    async def _missing(self, missing: list[int], meta: list, lines_path: str | None) -> None:
        state = self.state
        cancel = self.r.batch.get("cancel_sent")
        if state in ("failed", "expired") or cancel == "deadline" or (state == "cancelled" and cancel != "cancelled"):
            can_fall_back, reason = self.dep.batch.fallback, f"batch_{'deadline' if cancel == 'deadline' else state}"
        elif state == "cancelled":  # the batch's own cancel: its unanswered lines are not run
            can_fall_back, reason = False, "batch_cancelled"
        else:
            can_fall_back, reason = False, "missing_from_output"
        message = self.r.batch.get("message") or f"the provider job ended {self.r.batch.get('provider_raw') or state}"
        fallback = Fallback(self.b, reason) if can_fall_back else None
        wanted = set(missing)
        with open(lines_path, "rb") as f:
            for i, raw in enumerate(f):
                if i not in wanted:
                    continue
                owner_id, tenant, n, custom_id, _ = meta[i]
                owner = await self._owner(owner_id, tenant)
                if owner is None:
                    continue
                if reason == "batch_cancelled" and owner.id.startswith("batch_"):
                    continue
                if fallback is not None:
                    line = orjson.loads(raw)
                    ref = await fallback.line(owner, line, group=self.r.id)
                    self.totals["fallback"] += 1
                    if ref is not None:
                        self._part(owner.id, ref)
                    continue
                self.totals["failed"] += 1
                await self._error(owner, n, custom_id, error_of(reason, message))
        if fallback is not None:
            self.b.observe.lines(self.dep.name, "on_demand", fallback.count, 0, 0.0, 0.0)

