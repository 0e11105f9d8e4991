"""Submit, poll, list and cancel: the job API's logic, independent of HTTP.

Submit checks everything before it writes anything: the body, the model and the tier (model class,
max_tokens cap), the callback URL (SSRF), queue depth (back-pressure) and the tenant's request rate.
A rejected submit leaves no record and no message.
"""

import logging
import time
from collections.abc import Callable

import orjson

from skyrelay.runtime.errors import (
    NotFound,
    Overloaded,
    SkyrelayError,
    UnknownModel,
    ValidationFailed,
)
from skyrelay.runtime.jobs.config import JobsConfig
from skyrelay.runtime.jobs.model import (
    PRIORITIES,
    WEBHOOK_PENDING,
    Job,
    JobStatus,
    fingerprint,
    new_job_id,
)
from skyrelay.runtime.jobs.webhooks import CallbackPolicy

log = logging.getLogger("skyrelay.jobs")

# The chat parameters a job carries to the worker: the router's honoured ones, except streaming.
STREAM_PARAMETERS = frozenset(("stream", "stream_options"))
JOB_PARAMETERS = frozenset(("prompt", "callback_url", "priority", "metadata", "preference", "mode"))
PREFERENCES = ("fast", "quality", "cheap")
MODES = ("on_demand", "batch")  # batch: the job may wait for a provider batch job, at its batch price


class IdempotencyConflict(SkyrelayError):
    status, code = 409, "idempotency_key_reused"


class NotCancellable(SkyrelayError):
    status, code = 409, "job_not_cancellable"


def _fail(field: str, problem: str):
    raise ValidationFailed(f"{field}: {problem}")


def parse_job(doc, default_priority: str = "interactive", max_metadata_bytes: int = 4096):
    """-> (ChatRequest, callback_url, priority, metadata, preference, mode). Raises 4xx errors. The
    ChatRequest is what the job stores (`to_doc`): the worker does not validate it again."""
    # the one chat validator and parameter check, shared with /v1/chat/completions
    from skyrelay.runtime.parse import CHAT_PARAMETERS, check_parameters, parse_chat

    if not isinstance(doc, dict):
        _fail("body", "must be a JSON object")
    chat_fields = CHAT_PARAMETERS - STREAM_PARAMETERS
    check_parameters(doc, chat_fields | JOB_PARAMETERS)
    chat = {k: v for k, v in doc.items() if k in chat_fields}
    prompt = doc.get("prompt")
    if prompt is not None:
        if "messages" in doc:
            _fail("prompt", "give either prompt or messages, not both")
        if not isinstance(prompt, str) or not prompt.strip():
            _fail("prompt", "must be a non-empty string")
        chat["messages"] = [{"role": "user", "content": prompt}]
    elif "messages" not in doc:
        _fail("prompt", "required (or messages)")
    request, _ = parse_chat(chat)
    priority = doc.get("priority", default_priority)
    if priority not in PRIORITIES:
        _fail("priority", "must be interactive or batch")
    metadata = doc.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            _fail("metadata", "must be an object")
        if len(orjson.dumps(metadata)) > max_metadata_bytes:
            _fail("metadata", f"must be at most {max_metadata_bytes} bytes")
    preference = doc.get("preference")
    if preference is not None and preference not in PREFERENCES:
        _fail("preference", "must be fast, quality or cheap")
    mode = doc.get("mode") or "on_demand"
    if mode not in MODES:
        _fail("mode", "must be on_demand or batch")
    return request, doc.get("callback_url"), priority, metadata, preference, mode


class JobService:
    """`tiers` / `model_classes` are the router's; `limiter` is the router's limiter (or None)."""

    def __init__(self, store, queue, cfg: JobsConfig, *, tiers: dict, model_classes: dict, limiter=None,
                 clock: Callable[[], float] = time.time, on_enqueue: Callable[[], None] | None = None):
        self.store = store
        self.queue = queue
        self.cfg = cfg
        self.tiers = tiers
        self.model_classes = model_classes
        self.limiter = limiter
        self.clock = clock
        self.policy = CallbackPolicy(cfg.webhooks.allow_hosts, cfg.webhooks.require_https)
        self.on_enqueue = on_enqueue
        self.batches = None  # the BatchService (runtime/batch) when batch work is enabled: `mode: batch`
        self._depth = (0, -1.0)  # (value, monotonic time read)

    async def _queue_depth(self) -> int | None:
        value, at = self._depth
        now = time.monotonic()
        if now - at > 0.2:  # one count per 200 ms, not one per submit
            value = await self.queue.depth()
            self._depth = (value, now)
        return value

    async def submit(self, tenant, doc, idempotency_key: str | None = None,
                     preference: str | None = None) -> tuple[Job, bool]:
        """`tenant` is the router config's Tenant. Returns (job, created)."""
        from skyrelay.runtime.router.limits import check_request

        request, callback, priority, metadata, body_pref, mode = parse_job(
            doc, self.cfg.default_priority, self.cfg.max_metadata_bytes)
        preference = body_pref or preference
        if preference is not None and preference not in PREFERENCES:
            _fail("x-model-preference", "must be fast, quality or cheap")
        if idempotency_key is not None and (not idempotency_key or len(idempotency_key) > 255):
            _fail("idempotency-key", "must be 1 to 255 characters")
        if idempotency_key is not None:  # a replay is answered before the checks that spend or refuse
            replay = await self._replay(tenant.name, idempotency_key, doc)
            if replay is not None:
                return replay, False
        model_class = self.model_classes.get(request.model)
        if model_class is None:
            raise UnknownModel(f"model {request.model!r} does not exist")
        tier = self.tiers[tenant.tier]
        check_request(tier, model_class, request)  # the worker's router call applies the effective max_tokens
        if callback is not None:
            await self.policy.check(callback)
        depth = await self._queue_depth()
        if depth is not None and depth >= self.cfg.queue.max_depth:  # None: the queue cannot count (Service Bus, Cloud Tasks)
            raise Overloaded(f"the job queue is full ({depth} jobs waiting); retry later",
                             retry_after=self.cfg.queue.retry_after_s)
        if self.limiter is not None:  # the tenant's request rate, on its own `<tenant>/jobs` bucket
            reservation = await self.limiter.acquire(f"{tenant.name}/jobs", tier, 0, False)
            await self.limiter.settle(reservation, tier, 0)
        now = self.clock()
        job = Job(id=new_job_id(), tenant=tenant.name, status=JobStatus.PENDING, request=request.to_doc(),
                  model=request.model, created_at=now, updated_at=now, expires_at=now + self.cfg.store.ttl_s,
                  preference=preference, priority=priority, callback_url=callback, idempotency_key=idempotency_key,
                  request_hash=fingerprint(doc) if idempotency_key else None, metadata=metadata)
        if callback:
            job.webhook = {"id": "msg_" + job.id.removeprefix("job_"), "state": WEBHOOK_PENDING, "attempts": []}
        if mode == "batch":  # held for a provider batch: no queue message until it falls back
            if self.batches is None:
                _fail("mode", "batch work is not enabled on this server (jobs.batch.enabled)")
            return await self._submit_batch(job, request, tier)
        stored, created = await self.store.create(job)
        if not created:
            if stored.request_hash != job.request_hash:
                raise IdempotencyConflict("this Idempotency-Key was used with a different request body")
            return stored, False
        try:
            await self.queue.enqueue(stored.id, priority)
        except Exception as exc:
            log.error("enqueue failed for %s: %s", stored.id, exc)
            await self.store.transition(stored.id, [JobStatus.PENDING], JobStatus.FAILED,
                                        {"error": {"code": "enqueue_failed", "message": "the job queue is unavailable"},
                                         "finished_at": self.clock()})
            raise Overloaded("the job queue is unavailable; retry later", retry_after=self.cfg.queue.retry_after_s) from exc
        if self._depth[0] is not None:
            self._depth = (self._depth[0] + 1, self._depth[1])
        if self.on_enqueue is not None:
            self.on_enqueue()
        return stored, True

    async def _submit_batch(self, job: Job, request, tier) -> tuple[Job, bool]:
        from skyrelay.runtime.router.limits import effective_max_tokens, estimate_prompt, reserve_for

        request.max_tokens = effective_max_tokens(tier, request, self.batches.config.api.default_max_tokens)
        job.request = request.to_doc()
        job = await self.batches.hold(job, request, reserve_for(estimate_prompt(request.messages),
                                                                request.max_tokens, tier))
        stored, created = await self.store.create(job)
        if not created and stored.request_hash != job.request_hash:
            raise IdempotencyConflict("this Idempotency-Key was used with a different request body")
        return stored, created

    async def _replay(self, tenant: str, key: str, doc) -> Job | None:
        """The job an Idempotency-Key already names (409 if for another body), read without writing,
        so a replay spends no rate-limit token. Stores without `find_idempotent` fall back to
        create-if-absent (the replay is still answered, after the limiter)."""
        find = getattr(self.store, "find_idempotent", None)
        if find is None:
            return None
        existing = await find(tenant, key)
        if existing is None:
            return None
        if existing.request_hash != fingerprint(doc):
            raise IdempotencyConflict("this Idempotency-Key was used with a different request body")
        return existing

    async def get(self, tenant: str, job_id: str) -> Job:
        job = await self.store.get(job_id, tenant=tenant)
        if job is None:
            raise NotFound(f"no job {job_id!r}")
        return job

    async def list(self, tenant: str, limit: int = 20, cursor: str | None = None,
                   status: JobStatus | None = None) -> tuple[list[Job], str | None]:
        try:
            return await self.store.list(tenant, min(limit, self.cfg.list_page_max), cursor, status)
        except ValueError as exc:
            raise ValidationFailed(f"cursor: {exc}") from None

    async def cancel(self, tenant: str, job_id: str) -> Job:
        """PENDING -> FAILED (code `cancelled`). The queue message is acked when a worker meets it."""
        job = await self.get(tenant, job_id)
        now = self.clock()
        if job.batch is not None and job.status == JobStatus.PROCESSING and self.batches is not None:
            held = await self.batches.cancel_job(job)  # waiting for (or in) a provider batch
            if held is not None:
                return held
        done = await self.store.transition(job.id, [JobStatus.PENDING], JobStatus.FAILED, {
            "error": {"code": "cancelled", "message": "cancelled by the client"},
            "finished_at": now,
            # a cancelled job sends no callback
            "webhook": {**job.webhook, "state": "skipped"} if job.webhook else None,
        })
        if done is None:
            current = await self.get(tenant, job_id)
            raise NotCancellable(f"job {job_id} is {current.status.value}; only PENDING jobs can be cancelled")
        return done
