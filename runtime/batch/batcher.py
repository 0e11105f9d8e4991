"""The batcher: one `tick()` does all that is due, and any number of ticks may run at once (a schedule
that fires twice, two workers): every effect is a conditional write on the store (records.py).

Per deployment with pending chunks (`pending/<deployment>/`, oldest first):
- a model with no batch deployment (`@<model>`): its lines run on demand at once;
- a chunk past its deadline (`batch.deadline_s` after it was written) runs on demand;
- groups are formed, oldest chunks first, up to the provider's records per job, when they fill one
  (`max_records`) or when the oldest line has waited `max_wait_s` and the group holds at least
  `min_records` (Bedrock's per-model minimum); under the minimum past `max_wait_s`, they run on demand;
- on Azure, a group is formed only while the deployment's open groups plus it stay within
  `max_enqueued_tokens` (the enqueued-token quota; the rest waits for the next tick).
Cancelling batches come first (their unclaimed chunks are claimed as cancelled, so no group takes
them). Then every open group (`open/<deployment>/`) takes the steps that are due (groups.py), and every open
batch (`open-batches/`) is finalized once all of its lines are answered (finalize.py).

`observe` reports lines served by batch and on demand, for /metrics and the dashboards (observe.py).
"""

import logging
import time
from collections.abc import Callable
from urllib.parse import unquote

import orjson

from skyrelay.runtime.batch import records as rec
from skyrelay.runtime.batch.fallback import Fallback
from skyrelay.runtime.batch.finalize import Finalizer
from skyrelay.runtime.batch.groups import Groups
from skyrelay.runtime.batch.intake import ON_DEMAND
from skyrelay.runtime.batch.observe import Observe
from skyrelay.runtime.batch.transport import Transport

log = logging.getLogger("skyrelay.batch")


class Batcher:
    def __init__(self, store, queue, storage, cfg, config, *, observe: Observe | None = None,
                 clock: Callable[[], float] = time.time, name: str = "batcher", transport: Transport | None = None):
        self.store, self.queue, self.storage = store, queue, storage
        self.cfg, self.config, self.clock, self.name = cfg, config, clock, name
        self.observe = observe or Observe()
        self.transport = transport or Transport()
        self.groups = Groups(self)
        self.finalizer = Finalizer(self)
        self._deployments = {d.name: d for d in config.deployments}

    async def tick(self) -> dict:
        """Everything due now; returns what it did (for logs and tests)."""
        done = {"groups_formed": 0, "fallback_lines": 0, "batches_finalized": 0}
        batches = [key.rsplit("/", 1)[1] for key in await self.storage.list("open-batches")]
        for batch_id in batches:  # a cancelling batch's unclaimed chunks go first, so no group takes them
            r = await self.store.get(batch_id)
            if r is not None and r.attempts == rec.CANCELLING:
                done["batches_finalized"] += await self.finalizer.advance(batch_id)
        pending: dict[str, list[rec.Chunk]] = {}
        for key in await self.storage.list("pending"):
            chunk = rec.parse_chunk(key)
            if chunk is not None:
                pending.setdefault(chunk.deployment, []).append(chunk)
        for deployment, chunks in pending.items():
            formed, fell = await self._form(deployment, sorted(chunks, key=lambda c: (c.created_ms, c.id)))
            done["groups_formed"] += formed
            done["fallback_lines"] += fell
        for key in await self.storage.list("open"):
            _, dep, gid = key.split("/")
            try:
                await self.groups.advance(unquote(dep), gid)
            except Exception:
                log.exception("%s: group %s failed to advance; next tick retries", self.name, gid)
        for key in await self.storage.list("open-batches"):
            try:
                done["batches_finalized"] += await self.finalizer.advance(key.rsplit("/", 1)[1])
            except Exception:
                log.exception("%s: batch %s failed to finalize; next tick retries", self.name, key)
        return done

    # ---- forming ----
    async def _free(self, chunks: list[rec.Chunk]) -> list[rec.Chunk]:
        """The chunks no group (nor fallback, nor cancel) has claimed yet."""
        free = []
        for c in chunks:
            if await self.store.get(rec.claim_id(c)) is None:
                free.append(c)
        return free

    async def _form(self, deployment: str, chunks: list[rec.Chunk]) -> tuple[int, int]:
        chunks = await self._free(chunks)
        dep = self._deployments.get(deployment)
        now = self.clock()
        if deployment.startswith(ON_DEMAND) or dep is None or dep.batch is None:
            return 0, sum([await self._fall_back(c, "no_batch_deployment") for c in chunks])
        b = dep.batch
        fell = 0
        for c in [c for c in chunks if now - c.created >= b.deadline_s]:
            fell += await self._fall_back(c, "batch_deadline")
        chunks = [c for c in chunks if now - c.created < b.deadline_s]
        cap = b.records(dep.provider)
        room = None
        if b.max_enqueued_tokens is not None:
            room = b.max_enqueued_tokens - await self._enqueued_tokens(deployment)
        formed = 0
        while chunks:
            take, lines, tokens = [], 0, 0
            for c in chunks:
                if lines + c.lines > cap or (room is not None and tokens + c.tokens > room):
                    break
                take.append(c)
                lines, tokens = lines + c.lines, tokens + c.tokens
            waited = now - chunks[0].created >= b.max_wait_s
            full = lines >= cap or (len(take) < len(chunks) and take)
            if take and (full or (waited and lines >= b.min_records)):
                gid = await self.groups.create(deployment, take)
                try:
                    await self.groups.advance(deployment, gid)
                except Exception:  # its steps are retried from the open-group index
                    log.exception("%s: group %s failed to advance; next tick retries", self.name, gid)
                formed += 1
                chunks = chunks[len(take):]
                if room is not None:
                    room -= tokens
                continue
            if waited and sum(c.lines for c in chunks) < b.min_records:
                for c in chunks:
                    fell += await self._fall_back(c, "below_minimum")
            break
        return formed, fell

    async def _enqueued_tokens(self, deployment: str) -> int:
        total = 0
        for key in await self.storage.list(rec.open_prefix(deployment)):
            r = await self.store.get(key.rsplit("/", 1)[1])
            if r is not None and r.attempts < rec.DONE:
                total += r.request.get("tokens", 0)
        return total

    async def claim(self, chunk: rec.Chunk, owner: str) -> bool:
        """Claims a chunk for `owner` (`fallback:<reason>`, `cancelled:<batch>`); False if it went elsewhere."""
        claim = rec.record(rec.claim_id(chunk), rec.BATCHER, rec.JobStatus.COMPLETE, self.clock(),
                           self.cfg.store.ttl_s, request={"group": owner, "key": chunk.key})
        stored, _ = await self.store.create(claim)
        return stored.request.get("group") == owner

    async def _fall_back(self, chunk: rec.Chunk, reason: str) -> int:
        if not await self.claim(chunk, f"fallback:{chunk.id}"):
            return 0
        raw = await self.storage.get(chunk.key)
        if raw is None:  # another run already sent it and removed it
            return 0
        fallback = Fallback(self, reason)
        parts: dict[str, list[bytes]] = {}
        for text in raw.splitlines():
            if not text.strip():
                continue
            line = orjson.loads(text)
            owner = await self._owner(line["o"], line["t"])
            if owner is None or (owner.id.startswith("batch_") and owner.attempts != rec.IN_PROGRESS):
                continue  # gone, or a batch being cancelled: its waiting lines are not run
            ref = await fallback.line(owner, line)
            if ref is not None:
                parts.setdefault(owner.id, []).append(orjson.dumps(ref) + b"\n")
        for owner_id, lines in parts.items():
            await self.storage.put(f"batches/{owner_id}/parts/fallback-{chunk.id}.jsonl", b"".join(lines))
        await self.storage.delete(chunk.key)
        if fallback.count:
            self.observe.lines(chunk.deployment, "on_demand", fallback.count, 0, 0.0, 0.0)
        return fallback.count

    async def _owner(self, owner_id: str, tenant: str):
        if owner_id.startswith("batch_"):
            return await self.store.get(owner_id, tenant=rec.batches_of(tenant))
        return await self.store.get(owner_id)

    async def close(self) -> None:
        await self.transport.close()
