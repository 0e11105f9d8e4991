"""`Router.generate` / `Router.stream`: one call over many deployments, with failover by error class.

The function that calls a deployment is injected (`call`, `open_stream`), defaulting to
`skyrelay.runtime.providers.client`. Tests inject fakes to count calls.

Per request: resolve tenant and model -> up-front tier checks -> limiter (RPM, TPM reservation,
stream slot) -> cache -> try deployments in the planner's order under one deadline -> settle the
limiter with the real usage -> cost.

The failover loop and its error classes are in failover.py; the committed stream in routed_stream.py;
the Outcome and Observer hooks in outcome.py (all re-exported here).
Streams commit only after the first chunk arrived within the TTFT deadline; after that an upstream
failure ends the stream with an error (the API writes an SSE error event and no [DONE]).
"""

import asyncio
import inspect
import random
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from skyrelay.runtime.canonical import ChatRequest, ChatResult, StreamDelta
from skyrelay.runtime.errors import (
    Overloaded,
    ProviderError,
    RateLimited,
    Unauthorized,
    UnknownModel,
    UpstreamServerError,
    UpstreamTimeout,
)
from skyrelay.runtime.providers.base import Upstream
from skyrelay.runtime.router import capabilities, structured
from skyrelay.runtime.router.breaker import Breaker
from skyrelay.runtime.router.cache import cache_key, make_cache
from skyrelay.runtime.router.config import RouterConfig, Tenant
from skyrelay.runtime.router.cost import CostLedger
from skyrelay.runtime.router.failover import Attempt, Hedging, failover
from skyrelay.runtime.router.fallback import fallback_outcome, fallback_stream
from skyrelay.runtime.router.limits import check_request, estimate_prompt, make_limiter, reserve_for
from skyrelay.runtime.router.outcome import Observer, Outcome
from skyrelay.runtime.router.retry import Deadline
from skyrelay.runtime.router.routed_stream import RoutedStream, close_quietly, collect
from skyrelay.runtime.router.strategies import DeploymentState, Planner

__all__ = ["CallFn", "Observer", "Outcome", "RoutedStream", "Router", "StreamFn"]

CallFn = Callable[[Upstream, ChatRequest, float], Awaitable[ChatResult]]
StreamFn = Callable[[Upstream, ChatRequest, float, float], Any]  # AsyncIterator[StreamDelta] or awaitable of one


def _client_call() -> tuple[CallFn, StreamFn]:
    try:
        from skyrelay.runtime.providers import client
    except ImportError as exc:  # providers not installed: fail each call, not start-up
        reason = str(exc)

        async def missing(*_args, **_kw):
            raise UpstreamServerError(f"provider client unavailable: {reason}")

        return missing, missing
    return client.complete, client.open_stream


def _enforces_timeout(call) -> bool:
    """True for the provider client's `complete`, which bounds each call by its `timeout` argument itself,
    and for its `open_stream`, which bounds the first delta by `ttft_timeout` and each later read by
    `idle_timeout`. An injected transport never needs the client imported to tell (the Lambda worker
    would otherwise pay for aiohttp's import just to build its router)."""
    client = sys.modules.get("skyrelay.runtime.providers.client")
    return client is not None and (call is client.complete or call is client.open_stream)


class Router:
    def __init__(self, config: RouterConfig, call: CallFn | None = None, open_stream: StreamFn | None = None,
                 *, limiter=None, cache=None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, rng: random.Random | None = None,
                 observer: Observer | None = None, embed: Callable | None = None):
        self.config = config
        self._embed_call, self._embedder = embed, None  # embeddings: runtime/router/embeddings.py
        if call is None or open_stream is None:
            default_call, default_stream = _client_call()
            call = call or default_call
            open_stream = open_stream or default_stream
        self._call = call
        self._call_bounded = _enforces_timeout(call)  # then one timer per attempt, not two nested ones
        self._open_stream = open_stream
        self._stream_bounded = _enforces_timeout(open_stream)  # no second timer around the first chunk or each chunk
        self.limiter = limiter if limiter is not None else make_limiter(config.limiter)
        self.cache = cache if cache is not None else make_cache(config.cache)
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.observer = observer or Observer()
        self.ledger = CostLedger()
        self.tiers = config.tiers()
        self.timeouts = config.timeouts
        self.retry = config.retry
        h = config.hedge
        self._hedge = Hedging(h.min_s, h.initial_s, h.max_s, h.max_share) if h.enabled else None
        self._background: set = set()  # hedged attempts that lost, until they end
        b = config.breaker
        self.deployments = {
            d.name: DeploymentState(d, Breaker(b.failure_threshold, b.open_s, b.half_open_probes, clock))
            for d in config.deployments
        }
        self.planners = {
            name: Planner(m, [self.deployments[d] for d in m.deployments], self.rng, clock)
            for name, m in config.models.items()
        }
        self.model_classes = {name: config.model_class(name) for name in config.models}
        self.tenants = {t.name: t for t in config.tenants}
        self._pins = {
            (t.name, model): frozenset(d for d in t.dedicated if self.deployments[d].cfg.model == model)
            for t in config.tenants for model in config.models
        }

    # ---- public API ----
    async def generate(self, request: ChatRequest, tenant: str | Tenant, preference: str | None = None) -> ChatResult:
        return (await self.complete(request, tenant, preference)).result

    async def complete(self, request: ChatRequest, tenant: str | Tenant, preference: str | None = None,
                       use_cache: bool = True, stream_sync: bool | None = None) -> Outcome:
        """One non-streamed answer. `stream_sync` overrides `timeouts.stream_sync` for this request (the job
        worker passes `jobs.worker.stream_sync`)."""
        t, tier, planner, estimate = self._admit(request, tenant)
        reservation = await self._acquire(t, tier, request, estimate, stream=False)
        used = 0
        try:
            key = None
            if use_cache and self.cache is not None and not request.logprobs and not request.n:  # one choice, no logprobs
                key = cache_key(t.name, request)
                hit = await self.cache.get(key)
                self.observer.cache(hit is not None)
                if hit is not None:
                    return Outcome(hit, "cache", 0.0, True, reservation.headers)
            deadline = Deadline(self.timeouts.request_s, self.clock)
            order = planner.order(self._pins.get((t.name, request.model), frozenset()), preference,
                                  estimate + (request.max_tokens or 0), stream=False)
            if capabilities.extended(request):
                order = capabilities.eligible(order, request)
            t0 = self.clock()
            try:
                result, dep = await self._failover(order, deadline, self._sync_attempt(request, deadline, stream_sync))
            except (ProviderError, Overloaded) as exc:  # every breaker open: the model's fallback, if any
                states = [self.deployments[d] for d in self.config.models[request.model].deployments]
                return fallback_outcome(self.config.models[request.model].fallback, states, exc, reservation.headers)
            upstream_s = self.clock() - t0
            used = result.usage.total_tokens
            cost = self.ledger.record(t.name, dep.name, request.model, result.usage, dep.cfg.price)
            self.observer.usage(t.name, dep.name, request.model, result.usage, cost)
            if key is not None and result.finish_reason in ("stop", "length", "tool_calls"):
                await self.cache.put(key, result)
            return Outcome(result, dep.name, cost, False, reservation.headers, upstream_s)
        finally:
            await self.limiter.settle(reservation, tier, used)

    async def stream(self, request: ChatRequest, tenant: str | Tenant, preference: str | None = None) -> "RoutedStream":
        """Returns once the first chunk arrived (the commit point). Errors before that are raised here."""
        t, tier, planner, estimate = self._admit(request, tenant)
        reservation = await self._acquire(t, tier, request, estimate, stream=True)
        try:
            deadline = Deadline(self.timeouts.request_s, self.clock)
            order = planner.order(self._pins.get((t.name, request.model), frozenset()), preference,
                                  estimate + (request.max_tokens or 0), stream=True)
            if capabilities.extended(request):
                order = capabilities.eligible(order, request)
            t0 = self.clock()
            if request.response_format is not None:  # read whole and checked, so bad JSON fails over unseen
                result, dep = await self._failover(order, deadline, Attempt(
                    lambda d: self._open(d, request, deadline, sync=True),
                    lambda d, opened: self._collect(d, opened, deadline, request), _discard, self._hedge,
                    deferred=True))
                it, first = _replay(result), _as_delta(result, 0)
            else:
                (it, first), dep = await self._failover(order, deadline, Attempt(
                    lambda d: self._open(d, request, deadline), discard=_discard, hedge=self._hedge,
                    deferred=True))  # judged when the stream ends (RoutedStream)
        except (ProviderError, Overloaded) as exc:  # every breaker open: the model's fallback, if any
            await self.limiter.settle(reservation, tier, 0)
            states = [self.deployments[d] for d in self.config.models[request.model].deployments]
            return fallback_stream(self.config.models[request.model].fallback, states, exc, reservation.headers)
        except BaseException:
            await self.limiter.settle(reservation, tier, 0)
            raise
        return RoutedStream(self, t.name, tier, dep, request, estimate, reservation, it, first, t0,
                            bounded=self._stream_bounded)

    async def embed(self, request, tenant: str | Tenant):
        """POST /v1/embeddings: an EmbedOutcome (runtime/router/embeddings.py)."""
        if self._embedder is None:
            from skyrelay.runtime.router.embeddings import Embedder

            self._embedder = Embedder(self, self._embed_call)
        return await self._embedder.embed(request, tenant)

    async def aclose(self) -> None:
        """Closes the limiter, the cache and, when this router uses the provider client, its pooled
        upstream sessions (otherwise a stopping worker leaks them and aiohttp logs them as unclosed)."""
        for task in list(self._background):
            task.cancel()
        await self.limiter.close()
        if self.cache is not None:
            await self.cache.close()
        if self._call_bounded or self._stream_bounded:
            from skyrelay.runtime.providers import client

            await client.close_all()

    # ---- admission ----
    def _admit(self, request: ChatRequest, tenant: str | Tenant):
        t = tenant if isinstance(tenant, Tenant) else self.tenants.get(tenant)
        if t is None:
            raise Unauthorized(f"unknown tenant {tenant!r}")
        planner = self.planners.get(request.model)
        if planner is None:
            raise UnknownModel(f"model {request.model!r} does not exist")
        tier = self.tiers[t.tier]
        request.max_tokens = check_request(tier, self.model_classes[request.model], request,
                                           self.config.api.default_max_tokens)
        if capabilities.extended(request):  # before any limiter or upstream call
            capabilities.check(request.model, planner.states, request)
        return t, tier, planner, estimate_prompt(request.messages)

    async def _acquire(self, t: Tenant, tier, request: ChatRequest, estimate: int, stream: bool):
        t0 = self.clock()
        try:
            return await self.limiter.acquire(t.name, tier, reserve_for(estimate, request.max_tokens, tier), stream)
        except RateLimited as exc:
            self.observer.limited(t.name, getattr(exc, "dimension", "requests"))
            raise
        finally:
            self.observer.phase("auth_limit", self.clock() - t0)

    # ---- one attempt ----
    def _sync_attempt(self, request: ChatRequest, deadline: Deadline, stream_sync: bool | None = None) -> Attempt:
        """A non-streamed attempt: read from an upstream stream (`timeouts.stream_sync`), so a hung upstream
        shows as a missing first chunk and is hedged like a stream; else one plain call within `attempt_s`."""
        if not (self.timeouts.stream_sync if stream_sync is None else stream_sync):
            return Attempt(lambda d: self._attempt(d, request, deadline))
        return Attempt(lambda d: self._open(d, request, deadline, sync=True),
                       lambda d, opened: self._collect(d, opened, deadline, request), _discard, self._hedge)

    async def _attempt(self, dep: DeploymentState, request: ChatRequest, deadline: Deadline) -> ChatResult:
        timeout = min(self.timeouts.attempt_s, deadline.remaining())
        t0 = self.clock()
        try:
            if self._call_bounded:
                try:
                    result = await self._call(dep.upstream, request, timeout)
                except UpstreamTimeout:  # the client's own timer: report it as this timer would have
                    raise TimeoutError from None
            else:
                async with asyncio.timeout(timeout):
                    result = await self._call(dep.upstream, request, timeout)
        except TimeoutError:
            raise UpstreamTimeout(f"{dep.name}: no answer within {timeout:.3g}s") from None
        except OSError as exc:
            raise UpstreamServerError(f"{dep.name}: {exc.__class__.__name__}") from None
        dep.observe(self.clock() - t0)
        if request.response_format is not None:
            structured.check(request, result, dep.name)
        return result

    async def _open(self, dep: DeploymentState, request: ChatRequest, deadline: Deadline, sync: bool = False):
        """Opens an upstream stream and reads its first delta within `ttft_s`: (stream, first delta), and with
        `sync` also the attempt's start (its whole answer must arrive within `attempt_s`)."""
        ttft = min(self.timeouts.ttft_s, deadline.remaining())
        if sync:
            ttft = min(ttft, self.timeouts.attempt_s)
        t0 = self.clock()
        it = None
        try:
            if self._stream_bounded:  # the client's own timer bounds connect + first delta by `ttft`
                try:
                    it = self._open_stream(dep.upstream, request, ttft, self.timeouts.idle_s)
                    first = await anext(it)
                except UpstreamTimeout:  # report it as this timer would have
                    raise TimeoutError from None
            else:
                async with asyncio.timeout(ttft):
                    it = self._open_stream(dep.upstream, request, ttft, self.timeouts.idle_s)
                    if inspect.isawaitable(it):
                        it = await it
                    first = await anext(it)
        except StopAsyncIteration:
            raise UpstreamServerError(f"{dep.name}: stream ended before its first chunk") from None
        except TimeoutError:
            await close_quietly(it)
            raise UpstreamTimeout(f"{dep.name}: no first chunk within {ttft:.3g}s") from None
        except OSError as exc:
            await close_quietly(it)
            raise UpstreamServerError(f"{dep.name}: {exc.__class__.__name__}") from None
        except BaseException:
            await close_quietly(it)
            raise
        dep.observe_ttft(self.clock() - t0)
        self.observer.phase("provider_ttft", self.clock() - t0)
        return (it, first, t0) if sync else (it, first)

    async def _collect(self, dep: DeploymentState, opened, deadline: Deadline,
                       request: ChatRequest | None = None) -> ChatResult:
        """The rest of a non-streamed answer read from its upstream stream, within the attempt's `attempt_s`
        (and, for a `response_format` request, checked: runtime/router/structured.py)."""
        it, first, t0 = opened
        budget = min(t0 + self.timeouts.attempt_s, deadline.expires) - self.clock()
        try:
            result = await collect(it, first, dep.upstream.model, max(budget, 0.0))
            if request is not None and request.response_format is not None:
                structured.check(request, result, dep.name)
            return result
        except TimeoutError:
            raise UpstreamTimeout(f"{dep.name}: no complete answer within {self.timeouts.attempt_s:.3g}s") from None
        except OSError as exc:
            raise UpstreamServerError(f"{dep.name}: {exc.__class__.__name__}") from None
        finally:
            await close_quietly(it)
            dep.observe(self.clock() - t0)

    async def _failover(self, order: list[DeploymentState], deadline: Deadline, how: Attempt):
        return await failover(order, deadline, how, retry=self.retry, clock=self.clock, sleep=self.sleep,
                              rng=self.rng, observer=self.observer, background=self._background)


def _as_delta(result: ChatResult, choice: int) -> StreamDelta:
    calls = [{"index": i, **c} for i, c in enumerate(result.tool_calls)] if result.tool_calls else None
    return StreamDelta(text=result.text, usage=result.usage if not choice else None,
                       finish_reason=result.finish_reason, tool_calls=calls, choice=choice)


async def _replay(result: ChatResult):
    """The rest of a stream served from a whole, checked answer: its other choices (with `n` > 1)."""
    for i, other in enumerate(result.choices or (), 1):
        yield _as_delta(other, i)


async def _discard(opened) -> None:
    """Closes the stream of an attempt that lost a hedged race."""
    await close_quietly(opened[0])
