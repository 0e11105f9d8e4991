"""The job worker: receive -> claim -> call the router -> complete or fail -> webhook -> ack.

    generate(request: ChatRequest, tenant: str, preference: str | None) -> ChatResult | Outcome

is injected: `router_generate(router)` adapts a Router (its Outcome also carries the deployment that
served the job and its cost); tests pass a fake that counts calls.

Guarantees (ARCHITECTURE.md, "Job lifecycle and guarantees"):
- At-least-once: a message is acked only after the job's final state (and its webhook) is written.
  A crash anywhere means redelivery after the visibility timeout; the redelivered message sees the
  stored state and carries on from there.
- Completion once: PROCESSING -> COMPLETE is a conditional write; a late or duplicate worker's
  result is discarded and logged.
- Attempts: counted at claim. A retryable failure is written to the job's history and the message
  comes back after exponential backoff with jitter. After `max_attempts` the job is FAILED and the
  message dead-lettered (where the queue has no DLQ, the FAILED job is what remains). A tenant over its rate limit is not an attempt: the job goes back to
  PENDING and waits for the limiter's Retry-After.
- Webhooks: the first delivery happens right after the final write; a failed delivery is retried
  through a new delayed queue message, so retries survive restarts. Each attempt is recorded.
- Shutdown: stop receiving, give in-flight jobs `shutdown_grace_s`, then release the rest (job back
  to PENDING, message visible again at once).

`handle(delivery)` is all a push platform needs (runtime/jobs/delivery.py); `run()` is the loop a
long-lived worker runs over a pull queue (runtime/queues/base.py: PullQueue).

Sizing `worker.concurrency`: a worker needs about (requests per minute the upstream quota allows)
x (average seconds per request) / 60 jobs in flight, where requests per minute = TPM quota / average
tokens per request. See docs/jobs.md.
"""

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable

from skyrelay.runtime.canonical import ChatRequest
from skyrelay.runtime.errors import ProviderError, RateLimited, SkyrelayError
from skyrelay.runtime.jobs.config import JobsConfig
from skyrelay.runtime.jobs.model import (
    FINAL,
    OPEN,
    WEBHOOK_DELIVERED,
    WEBHOOK_FAILED,
    WEBHOOK_PENDING,
    Job,
    JobStatus,
)
from skyrelay.runtime.jobs.sweeper import Sweeper
from skyrelay.runtime.jobs.webhooks import CallbackPolicy, WebhookSender, event_body
from skyrelay.runtime.queues.base import Delivery

log = logging.getLogger("skyrelay.jobs.worker")
Generate = Callable[..., Awaitable]


def router_generate(router, stream_sync: bool | None = None) -> Generate:
    """A Router as the worker's generate. `stream_sync` is `jobs.worker.stream_sync`: a job has no client
    waiting on its first byte, so by default its attempts are plain calls (bounded by `attempt_s`, retried
    with backoff; breakers still open on hung attempts) rather than streams read whole, which cost the
    worker and the upstream about 30% more CPU per job (bench/jobs.py)."""
    async def generate(request, tenant, preference=None):
        return await router.complete(request, tenant, preference, stream_sync=stream_sync)

    return generate


def backoff(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential with jitter: uniform(d/2, d) for d = min(cap, base * 2^(attempt-1))."""
    d = min(cap, base * 2 ** max(0, attempt - 1))
    return rng.uniform(d / 2, d)


def _error_doc(exc: BaseException) -> dict:
    """The error a job record shows its tenant: a stable code and, for an upstream error, a fixed sentence;
    the internal text (an exception's, a deployment's name) goes only to the log, under the job id."""
    if isinstance(exc, SkyrelayError):
        return {"code": exc.code, "message": (exc.public if isinstance(exc, ProviderError) else exc.message)[:500]}
    return {"code": "internal_error", "message": "internal error"}


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, ProviderError):
        return exc.retryable
    if isinstance(exc, SkyrelayError):  # client errors (model not allowed, over cap...) will not heal
        return exc.status >= 500
    return True  # unexpected errors: retry, and let max_attempts end a poison job


class Worker:
    def __init__(self, store, queue, generate: Generate, cfg: JobsConfig, *, sender: WebhookSender | None = None,
                 name: str = "worker-1", clock: Callable[[], float] = time.time, rng: random.Random | None = None,
                 sweep: bool = True):
        self.store = store
        self.queue = queue
        self.generate = generate
        self.cfg = cfg
        self.w = cfg.worker
        self.wh = cfg.webhooks
        self.sender = sender or WebhookSender(CallbackPolicy(cfg.webhooks.allow_hosts, cfg.webhooks.require_https),
                                              cfg.webhooks.timeout_s)
        self.name = name
        self.clock = clock
        self.rng = rng or random.Random()
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._inflight: dict[asyncio.Task, Delivery] = {}
        self.processed = 0
        self.duplicates = 0  # duplicate messages dropped
        self.sweeper = Sweeper(store, queue, cfg, clock=clock, name=name) if sweep else None
        self._sweep_task: asyncio.Task | None = None

    # ---- loop ----
    def wake(self) -> None:
        """Called on submit in local mode, so a new job does not wait for the next poll."""
        self._wake.set()

    async def run(self) -> None:
        vis = self.cfg.queue.visibility_timeout_s
        if self.sweeper is not None and self.w.sweep_interval_s > 0 and self._sweep_task is None:
            self._sweep_task = asyncio.create_task(self.sweeper.run(self._stopping), name=f"{self.name}-sweeper")
        while not self._stopping.is_set():
            free = self.w.concurrency - len(self._inflight)
            if free <= 0:
                await asyncio.wait(list(self._inflight), return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                got = await self.queue.receive(min(free, 10), vis)
            except Exception:
                log.exception("%s: receive failed", self.name)
                got = []
            if not got:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.w.poll_interval_s)
                continue
            for delivery in got:
                task = asyncio.create_task(self.handle(delivery))
                self._inflight[task] = delivery
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._inflight.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: job handler crashed", self.name, exc_info=task.exception())

    async def stop(self, grace_s: float | None = None) -> None:
        """Stops receiving; waits up to `grace_s` for in-flight jobs, then releases the rest."""
        self._stopping.set()
        self._wake.set()
        if self._sweep_task is not None:
            self._sweep_task.cancel()
            await asyncio.gather(self._sweep_task, return_exceptions=True)
        grace = self.w.shutdown_grace_s if grace_s is None else grace_s
        if self._inflight:
            _, pending = await asyncio.wait(list(self._inflight), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await self.sender.close()

    # ---- one delivery ----
    async def handle(self, msg: Delivery) -> None:
        """Runs the job `msg` names (or carries on from its stored state) and settles `msg`."""
        job = await self.store.get(msg.job_id)
        if job is None:  # expired or unknown
            await msg.ack()
            return
        if job.status in FINAL:
            await self._after_final(job, msg)
            return
        now = self.clock()
        if self._held_elsewhere(job, msg, now):
            await self._drop_duplicate(job, msg)
            return
        if job.attempts >= self.w.max_attempts:  # earlier attempts crashed their worker
            await self._fail(job, msg, {"code": "max_attempts", "message":
                                        f"no result after {job.attempts} attempts"}, dead_letter=True)
            return
        claimed = await self.store.transition(
            job.id, OPEN, JobStatus.PROCESSING,
            {"attempts": job.attempts + 1, "started_at": job.started_at or now,
             "claim": {"msg": msg.id, "until": now + self.cfg.queue.visibility_timeout_s}},
            expect_attempts=job.attempts)
        if claimed is None:  # another delivery got there first
            current = await self.store.get(job.id)
            if current is None or current.status in FINAL:
                await (self._after_final(current, msg) if current else msg.ack())
            elif self._held_elsewhere(current, msg, self.clock()):
                await self._drop_duplicate(current, msg)
            else:
                await msg.retry(self.cfg.queue.visibility_timeout_s)
            return
        try:
            await self._run(claimed, msg)
        except asyncio.CancelledError:
            await asyncio.shield(self._release(claimed, msg))
            raise

    @staticmethod
    def _held_elsewhere(job: Job, msg: Delivery, now: float) -> bool:
        """PROCESSING under a live claim by another message: this delivery is a duplicate. (The
        claiming message itself may come back: after a crash, or after a retry's backoff.)"""
        claim = job.claim
        return (job.status == JobStatus.PROCESSING and bool(claim) and claim.get("msg") != msg.id
                and claim.get("until", 0) > now)

    async def _drop_duplicate(self, job: Job, msg: Delivery) -> None:
        # The claiming message stays in the queue until the job is final, so this one can go: if its
        # holder dies, that message is redelivered after the visibility timeout.
        log.info("%s: %s is held by message %s; dropping duplicate message %s",
                 self.name, job.id, job.claim.get("msg"), msg.id)
        self.duplicates += 1
        await msg.ack()

    async def _run(self, job: Job, msg: Delivery) -> None:
        try:
            request = ChatRequest.from_doc(job.request)  # validated at submit
            out = await self.generate(request, job.tenant, job.preference)
        except RateLimited as exc:  # the tenant's own limit: wait, and do not count an attempt
            back = await self.store.transition(job.id, [JobStatus.PROCESSING], JobStatus.PENDING,
                                               {"attempts": job.attempts - 1, "claim": None},
                                               expect_attempts=job.attempts)
            if back is not None:
                await msg.retry(max(exc.retry_after, 0.05))
            elif await self._is_final(job.id):
                await msg.ack()
            return
        except Exception as exc:
            await self._failed_attempt(job, msg, exc)
            return
        result = getattr(out, "result", out)
        served_by = getattr(out, "deployment", None) or result.provider_model or None
        cost = getattr(out, "cost", None)
        u = result.usage
        now = self.clock()
        done = await self.store.transition(job.id, [JobStatus.PROCESSING], JobStatus.COMPLETE, {
            "result": {"text": result.text, "finish_reason": result.finish_reason,
                       "provider_model": result.provider_model},
            "usage": {"input_tokens": u.input_tokens, "cache_read_tokens": u.cache_read_tokens,
                      "cache_write_tokens": u.cache_write_tokens, "output_tokens": u.output_tokens,
                      "total_tokens": u.total_tokens},
            "cost": cost, "served_by": served_by, "finished_at": now, "error": None, "claim": None,
            "history": job.history + [{"at": now, "event": "completed", "attempt": job.attempts,
                                       "worker": self.name, "served_by": served_by}],
        })
        if done is None:
            log.warning("%s: %s already final; discarding the result of attempt %d", self.name, job.id, job.attempts)
            current = await self.store.get(job.id)
            if current is not None:
                await self._after_final(current, msg)
            else:
                await msg.ack()
            return
        self.processed += 1
        await self._after_final(done, msg)

    async def _failed_attempt(self, job: Job, msg: Delivery, exc: BaseException) -> None:
        err = _error_doc(exc)
        log.info("%s: %s attempt %d: %s: %s", self.name, job.id, job.attempts, type(exc).__name__, exc)
        retry = _retryable(exc)
        if not retry or job.attempts >= self.w.max_attempts:
            if retry:
                err = {**err, "message": f"after {job.attempts} attempts: {err['message']}"}
            await self._fail(job, msg, err, dead_letter=retry)
            return
        delay = backoff(job.attempts, self.w.backoff_base_s, self.w.backoff_max_s, self.rng)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            delay = max(delay, retry_after)
        log.info("%s: %s attempt %d failed (%s); retry in %.2fs", self.name, job.id, job.attempts, err["code"], delay)
        now = self.clock()
        claim = {"msg": msg.id, "until": now + delay + self.cfg.queue.visibility_timeout_s}  # held through the backoff
        await self.store.transition(job.id, [JobStatus.PROCESSING], None, {
            "error": err, "claim": claim,
            "history": job.history + [{"at": self.clock(), "event": "retry", "attempt": job.attempts,
                                       "error": err, "delay_s": round(delay, 3), "worker": self.name}],
        })
        await msg.retry(delay)

    async def _fail(self, job: Job, msg: Delivery, err: dict, dead_letter: bool) -> None:
        now = self.clock()
        done = await self.store.transition(job.id, OPEN, JobStatus.FAILED, {
            "error": err, "finished_at": now, "claim": None,
            "history": job.history + [{"at": now, "event": "failed", "attempt": job.attempts, "error": err,
                                       "worker": self.name, "dead_lettered": dead_letter}],
        })
        if dead_letter:
            log.warning("%s: %s FAILED after %d attempts; dead-lettered", self.name, job.id, job.attempts)
            if not await msg.dead_letter(err["code"]):
                return
            if done is not None:
                await self._webhook(done, None)
            return
        if done is None:
            done = await self.store.get(job.id)
        if done is not None:
            await self._after_final(done, msg)
        else:
            await msg.ack()

    async def _release(self, job: Job, msg: Delivery) -> None:
        """Shutdown mid-job: give the attempt back and make the message visible at once."""
        with contextlib.suppress(Exception):
            await self.store.transition(job.id, [JobStatus.PROCESSING], JobStatus.PENDING,
                                        {"attempts": job.attempts - 1, "claim": None}, expect_attempts=job.attempts)
            await msg.retry(0)

    async def _is_final(self, job_id: str) -> bool:
        job = await self.store.get(job_id)
        return job is None or job.status in FINAL

    # ---- after the final state: webhook, then ack ----
    async def _after_final(self, job: Job, msg: Delivery) -> None:
        await self._webhook(job, msg)

    async def _webhook(self, job: Job, msg: Delivery | None) -> None:
        wh = job.webhook
        if not job.callback_url or not wh or wh.get("state") != WEBHOOK_PENDING:
            if msg is not None:
                await msg.ack()
            return
        secrets = self.wh.secrets_for(job.tenant)
        attempt = await self.sender.deliver(job.callback_url, wh["id"], event_body(job), secrets)
        attempts = wh.get("attempts", []) + [attempt]
        if attempt["ok"]:
            state = WEBHOOK_DELIVERED
        elif len(attempts) >= self.wh.max_attempts or attempt.get("blocked"):
            state = WEBHOOK_FAILED
        else:
            state = WEBHOOK_PENDING
        await self.store.transition(job.id, FINAL, None, {"webhook": {**wh, "state": state, "attempts": attempts}})
        if state == WEBHOOK_PENDING:  # retry later through a fresh, delayed message
            delay = backoff(len(attempts), self.wh.backoff_base_s, self.wh.backoff_max_s, self.rng)
            await self.queue.enqueue(job.id, job.priority, delay)
            log.info("%s: webhook for %s failed (%s); retry in %.2fs", self.name, job.id, attempt["error"], delay)
        if msg is not None:
            await msg.ack()
