"""`Router.embed`: POST /v1/embeddings routed like chat, over the deployments that declare `embeddings`.

Per request: tenant and model -> the tier's model class (403) -> the deployments that declare the
`embeddings` capability and whose provider can carry the request (`dimensions`), else 400 naming what
is missing -> the limiter (one request of RPM, and TPM by *input* tokens: a reservation of the estimate,
settled with the provider's count) -> the exact cache (tenant, model, inputs, dimensions; a hit costs no
upstream call and no tokens) -> failover over the eligible deployments in the planner's order, one
attempt within `timeouts.attempt_s`, error classes as chat (failover.py) -> cost at the deployment's
input price -> metrics through the Observer (attempts, tokens, cost, cache).

Batching (the provider's per-request input limit) is the provider layer's (providers/embeddings.py).
"""

import hashlib
from dataclasses import dataclass, field

import orjson

from skyrelay.runtime.canonical import EmbeddingRequest, EmbeddingResult, Usage
from skyrelay.runtime.errors import (
    ModelNotAllowed,
    Unauthorized,
    UnknownModel,
    UnsupportedCapability,
    UnsupportedParameter,
)
from skyrelay.runtime.router.config import Tenant
from skyrelay.runtime.router.failover import Attempt
from skyrelay.runtime.router.retry import Deadline


@dataclass(slots=True)
class EmbedOutcome:
    result: EmbeddingResult
    deployment: str
    cost: float
    cached: bool
    headers: dict[str, str] = field(default_factory=dict)
    upstream_s: float = 0.0


def _default_call():
    from skyrelay.runtime.providers.embeddings import embed

    return embed


def _refused(provider: str, upstream, request: EmbeddingRequest) -> str | None:
    from skyrelay.runtime.providers.embeddings import translator

    return translator(provider).refuses(upstream, request)


def estimate_tokens(inputs: list[str]) -> int:
    """A generous input-token estimate (about 4 characters a token, at least 1 per input)."""
    return sum(len(t) // 4 + 1 for t in inputs)


def cache_key(tenant: str, request: EmbeddingRequest) -> str:
    doc = [tenant, request.model, request.inputs, request.dimensions]
    return "emb:" + hashlib.sha256(orjson.dumps(doc)).hexdigest()


class Embedder:
    """The embeddings half of a Router (shares its limiter, cache, planners, breakers, ledger, observer)."""

    def __init__(self, router, call=None):
        self.router = router
        self.call = call or _default_call()

    def eligible(self, request: EmbeddingRequest, states: list) -> list:
        return [s for s in states if "embeddings" in s.cfg.capabilities
                and _refused(s.cfg.provider, s.upstream, request) is None]

    async def embed(self, request: EmbeddingRequest, tenant: str | Tenant) -> EmbedOutcome:
        r = self.router
        t = tenant if isinstance(tenant, Tenant) else r.tenants.get(tenant)
        if t is None:
            raise Unauthorized(f"unknown tenant {tenant!r}")
        planner = r.planners.get(request.model)
        if planner is None:
            raise UnknownModel(f"model {request.model!r} does not exist")
        tier = r.tiers[t.tier]
        cls = r.model_classes[request.model]
        if not tier.allows(cls):
            raise ModelNotAllowed(f"the {tier.name.value} tier may not use model {request.model!r} ({cls.value})")
        capable = [s for s in planner.states if "embeddings" in s.cfg.capabilities]
        if not capable:
            raise UnsupportedCapability(f"embeddings: no deployment of model {request.model!r} declares it")
        if not self.eligible(request, capable):
            names = ", ".join(f"{s.name} ({s.cfg.provider})" for s in capable)
            raise UnsupportedParameter(f"dimensions: {request.dimensions} is not supported by deployment {names}")
        estimate = estimate_tokens(request.inputs)
        try:
            reservation = await r.limiter.acquire(t.name, tier, estimate, False)
        except Exception as exc:
            if hasattr(exc, "dimension"):
                r.observer.limited(t.name, exc.dimension)
            raise
        used = 0
        try:
            key = None
            if r.cache is not None:
                key = cache_key(t.name, request)
                raw = await r.cache.get_bytes(key)
                r.observer.cache(raw is not None)
                if raw is not None:
                    vectors, tokens = orjson.loads(raw)
                    return EmbedOutcome(EmbeddingResult(vectors, tokens), "cache", 0.0, True, reservation.headers)
            deadline = Deadline(r.timeouts.request_s, r.clock)
            pinned = r._pins.get((t.name, request.model), frozenset())
            order = self.eligible(request, planner.order(pinned, None, 0, stream=False))
            t0 = r.clock()
            result, dep = await r._failover(order, deadline, Attempt(lambda d: self._attempt(d, request, deadline)))
            upstream_s = r.clock() - t0
            used = result.input_tokens
            usage = Usage(input_tokens=result.input_tokens)
            cost = r.ledger.record(t.name, dep.name, request.model, usage, dep.cfg.price)
            r.observer.usage(t.name, dep.name, request.model, usage, cost)
            if key is not None:
                await r.cache.put_bytes(key, orjson.dumps([result.vectors, result.input_tokens]))
            return EmbedOutcome(result, dep.name, cost, False, reservation.headers, upstream_s)
        finally:
            await r.limiter.settle(reservation, tier, used)

    async def _attempt(self, dep, request: EmbeddingRequest, deadline: Deadline) -> EmbeddingResult:
        r = self.router
        t0 = r.clock()
        result = await self.call(dep.upstream, request, min(r.timeouts.attempt_s, deadline.remaining()))
        dep.observe(r.clock() - t0)
        return result
