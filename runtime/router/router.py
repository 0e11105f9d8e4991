"""`Router.generate` / `Router.stream`: one call over many deployments, with failover by error class.

The function that calls a deployment is injected (`call`, `open_stream`), defaulting to
`skyrelay.runtime.providers.client`. Tests inject fakes to count calls.

Per request: resolve tenant and model -> up-front tier checks -> limiter (RPM, TPM reservation,
stream slot) -> cache -> try deployments in the planner's order under one deadline -> settle the
limiter with the real usage -> cost.

Error classes:
- content filter, bad request: raised at once, no other deployment is tried;
- context length: only deployments with a larger context window are tried next;
- upstream 429: that deployment rests until its Retry-After (or `retry.cooldown_s`), next one is tried;
- 5xx, timeouts, resets, auth: counted by the breaker, next deployment is tried;
- when every deployment was tried in this pass, wait (backoff with full jitter, at least the earliest
  Retry-After) and start another pass, while attempts and the deadline allow.
Streams commit only after the first chunk arrived within the TTFT deadline; after that an upstream
failure ends the stream with an error (the API writes an SSE error event and no [DONE]).
"""

import asyncio
import contextlib
import inspect
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from skyrelay.runtime.canonical import ChatRequest, ChatResult, StreamDelta, Usage
from skyrelay.runtime.errors import (
    ContentFiltered,
    ContextLengthExceeded,
    Overloaded,
    ProviderError,
    RateLimited,
    Unauthorized,
    UnknownModel,
    UpstreamBadRequest,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamTimeout,
)
from skyrelay.runtime.providers.base import Upstream
from skyrelay.runtime.router.breaker import Breaker, State
from skyrelay.runtime.router.cache import cache_key, make_cache
from skyrelay.runtime.router.config import RouterConfig, Tenant
from skyrelay.runtime.router.cost import CostLedger
from skyrelay.runtime.router.limits import check_request, estimate_prompt, make_limiter, reserve_for
from skyrelay.runtime.router.retry import Deadline, next_delay
from skyrelay.runtime.router.strategies import DeploymentState, Planner

CallFn = Callable[[Upstream, ChatRequest, float], Awaitable[ChatResult]]
StreamFn = Callable[[Upstream, ChatRequest, float, float], Any]  # AsyncIterator[StreamDelta] or awaitable of one
_FINAL = (ContentFiltered, UpstreamBadRequest)


class Observer:
    """Hooks the API's metrics implement; the defaults do nothing."""

    def attempt(self, deployment: str, outcome: str, seconds: float) -> None: ...
    def usage(self, tenant: str, deployment: str, model: str, usage: Usage, cost: float) -> None: ...
    def cache(self, hit: bool) -> None: ...
    def limited(self, tenant: str, dimension: str) -> None: ...
    def breaker(self, deployment: str, state: int) -> None: ...


@dataclass(slots=True)
class Outcome:
    """A routed, non-streamed answer and what the API reports about it."""

    result: ChatResult
    deployment: str
    cost: float
    cached: bool
    headers: dict[str, str] = field(default_factory=dict)
    upstream_s: float = 0.0


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
    """True for the provider client's `complete`, which bounds each call by its `timeout` argument itself."""
    try:
        from skyrelay.runtime.providers import client
    except ImportError:
        return False
    return call is client.complete


class Router:
    def __init__(self, config: RouterConfig, call: CallFn | None = None, open_stream: StreamFn | None = None,
                 *, limiter=None, cache=None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, rng: random.Random | None = None,
                 observer: Observer | None = None):
        self.config = config
        if call is None or open_stream is None:
            default_call, default_stream = _client_call()
            call = call or default_call
            open_stream = open_stream or default_stream
        self._call = call
        self._call_bounded = _enforces_timeout(call)  # then one timer per attempt, not two nested ones
        self._open_stream = open_stream
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
                       use_cache: bool = True) -> Outcome:
        t, tier, planner, estimate = self._admit(request, tenant)
        reservation = await self._acquire(t, tier, request, estimate, stream=False)
        used = 0
        try:
            key = None
            if use_cache and self.cache is not None:
                key = cache_key(t.name, request)
                hit = await self.cache.get(key)
                self.observer.cache(hit is not None)
                if hit is not None:
                    return Outcome(hit, "cache", 0.0, True, reservation.headers)
            deadline = Deadline(self.timeouts.request_s, self.clock)
            order = planner.order(self._pins.get((t.name, request.model), frozenset()), preference,
                                  estimate + (request.max_tokens or 0), stream=False)
            t0 = self.clock()
            result, dep = await self._run(order, deadline, lambda d: self._attempt(d, request, deadline))
            upstream_s = self.clock() - t0
            used = result.usage.total_tokens
            cost = self.ledger.record(t.name, dep.name, request.model, result.usage, dep.cfg.price)
            self.observer.usage(t.name, dep.name, request.model, result.usage, cost)
            if key is not None and result.finish_reason in ("stop", "length"):
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
            t0 = self.clock()
            (it, first), dep = await self._run(order, deadline, lambda d: self._open(d, request, deadline))
        except BaseException:
            await self.limiter.settle(reservation, tier, 0)
            raise
        return RoutedStream(self, t.name, tier, dep, request, estimate, reservation, it, first, t0)

    async def aclose(self) -> None:
        await self.limiter.close()
        if self.cache is not None:
            await self.cache.close()

    # ---- admission ----
    def _admit(self, request: ChatRequest, tenant: str | Tenant):
        t = tenant if isinstance(tenant, Tenant) else self.tenants.get(tenant)
        if t is None:
            raise Unauthorized(f"unknown tenant {tenant!r}")
        planner = self.planners.get(request.model)
        if planner is None:
            raise UnknownModel(f"model {request.model!r} does not exist")
        tier = self.tiers[t.tier]
        check_request(tier, self.model_classes[request.model], request.max_tokens, request.model)
        return t, tier, planner, estimate_prompt(request.messages)

    async def _acquire(self, t: Tenant, tier, request: ChatRequest, estimate: int, stream: bool):
        try:
            return await self.limiter.acquire(t.name, tier, reserve_for(estimate, request.max_tokens, tier), stream)
        except RateLimited as exc:
            self.observer.limited(t.name, getattr(exc, "dimension", "requests"))
            raise

    # ---- one attempt ----
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
        return result

    async def _open(self, dep: DeploymentState, request: ChatRequest, deadline: Deadline):
        ttft = min(self.timeouts.ttft_s, deadline.remaining())
        t0 = self.clock()
        it = None
        try:
            async with asyncio.timeout(ttft):
                it = self._open_stream(dep.upstream, request, ttft, self.timeouts.idle_s)
                if inspect.isawaitable(it):
                    it = await it
                first = await anext(it)
        except StopAsyncIteration:
            raise UpstreamServerError(f"{dep.name}: stream ended before its first chunk") from None
        except TimeoutError:
            await _aclose(it)
            raise UpstreamTimeout(f"{dep.name}: no first chunk within {ttft:.3g}s") from None
        except OSError as exc:
            await _aclose(it)
            raise UpstreamServerError(f"{dep.name}: {exc.__class__.__name__}") from None
        except BaseException:
            await _aclose(it)
            raise
        dep.observe(self.clock() - t0, self.clock() - t0)
        return it, first

    # ---- the failover loop ----
    async def _run(self, order: list[DeploymentState], deadline: Deadline, attempt):
        max_attempts = self.retry.attempts
        attempts = 0
        passes = 0
        min_context = 0
        tried: set[str] = set()
        last: ProviderError | None = None
        obs = self.observer
        while True:
            now = self.clock()
            dep = None
            if attempts < max_attempts and not deadline.expired:
                for s in order:
                    if s.name in tried or s.cfg.context_window <= min_context or s.cooldown_until > now:
                        continue
                    before = s.breaker.state
                    if s.breaker.allow():
                        if s.breaker.state != before:
                            obs.breaker(s.name, int(s.breaker.state))
                        dep = s
                        break
            if dep is None:
                if attempts >= max_attempts or deadline.expired:
                    raise self._final(last, order)
                # Wait only for deployments resting after a 429; an open breaker means "not now": fail fast.
                waiting = [s for s in order if s.cfg.context_window > min_context
                           and s.breaker.current() is not State.OPEN]
                if not waiting or passes >= max_attempts:
                    raise self._final(last, order)
                soonest = min(s.cooldown_until - now for s in waiting)
                delay = next_delay(passes, soonest if soonest > 0 else None, self.retry.base_s,
                                   self.retry.max_s, deadline, self.rng)
                if delay is None:
                    raise self._final(last, order)
                await self.sleep(delay)
                passes += 1
                tried.clear()
                continue
            attempts += 1
            tried.add(dep.name)
            t0 = self.clock()
            try:
                value = await attempt(dep)
            except _FINAL as exc:
                dep.breaker.on_neutral()
                obs.attempt(dep.name, exc.code, self.clock() - t0)
                raise
            except ContextLengthExceeded as exc:
                dep.breaker.on_neutral()
                obs.attempt(dep.name, exc.code, self.clock() - t0)
                last = exc
                min_context = max(min_context, dep.cfg.context_window)
                continue
            except UpstreamRateLimited as exc:
                dep.breaker.on_neutral()
                obs.attempt(dep.name, exc.code, self.clock() - t0)
                rest = exc.retry_after if exc.retry_after is not None else self.retry.cooldown_s
                dep.cooldown_until = self.clock() + rest
                last = exc
                continue
            except ProviderError as exc:
                state = dep.breaker.state
                dep.breaker.on_failure()
                if dep.breaker.state != state:
                    obs.breaker(dep.name, int(dep.breaker.state))
                obs.attempt(dep.name, exc.code, self.clock() - t0)
                last = exc
                continue
            state = dep.breaker.state
            dep.breaker.on_success()
            if state != dep.breaker.state:
                obs.breaker(dep.name, int(dep.breaker.state))
            obs.attempt(dep.name, "ok", self.clock() - t0)
            return value, dep

    def _final(self, last: ProviderError | None, order: list[DeploymentState]) -> Exception:
        if last is not None:
            return last
        now = self.clock()
        wait = min((max(s.cooldown_until - now, s.breaker.retry_in()) for s in order), default=1.0)
        return Overloaded("no deployment of this model is available right now", retry_after=max(wait, 0.001))


async def _aclose(it) -> None:
    close = getattr(it, "aclose", None)
    if close is not None:
        with contextlib.suppress(Exception):  # the stream is being abandoned; its error was already judged
            await close()


class RoutedStream:
    """A committed stream. Iterate it for `StreamDelta`s; always iterate to the end or `aclose()` it.

    Raises a `ProviderError` if the upstream fails after the first chunk (never switches provider).
    Settles the limiter and records cost when it ends, however it ends.
    """

    def __init__(self, router: Router, tenant: str, tier, dep: DeploymentState, request: ChatRequest,
                 estimate: int, reservation, it: AsyncIterator[StreamDelta], first: StreamDelta, t0: float):
        self.router = router
        self.tenant = tenant
        self.tier = tier
        self.dep = dep
        self.deployment = dep.name
        self.request = request
        self.estimate = estimate
        self.reservation = reservation
        self.headers = reservation.headers
        self.upstream_s = router.clock() - t0
        self.usage: Usage | None = None
        self.cost = 0.0
        self._it = it
        self._first = first
        self._t0 = t0
        self._gen = self._run()

    def __aiter__(self):
        return self._gen

    async def aclose(self) -> None:
        await self._gen.aclose()

    async def _run(self):
        r = self.router
        chars = 0
        ok = False
        delta = self._first
        try:
            while True:
                chars += len(delta.text)
                if delta.usage is not None:
                    self.usage = delta.usage
                yield delta
                try:
                    async with asyncio.timeout(r.timeouts.idle_s):
                        delta = await anext(self._it)
                except StopAsyncIteration:
                    ok = True
                    return
                except TimeoutError:
                    raise UpstreamTimeout(f"{self.deployment}: stream idle for {r.timeouts.idle_s:.3g}s") from None
                except OSError as exc:
                    raise UpstreamServerError(f"{self.deployment}: {exc.__class__.__name__}") from None
        except ProviderError:
            self.dep.breaker.on_failure()
            raise
        finally:
            await _aclose(self._it)
            usage = self.usage or Usage(input_tokens=self.estimate, output_tokens=chars // 4 + (1 if chars else 0))
            if ok:
                self.dep.observe(r.clock() - self._t0)
            self.cost = r.ledger.record(self.tenant, self.deployment, self.request.model, usage, self.dep.cfg.price)
            r.observer.usage(self.tenant, self.deployment, self.request.model, usage, self.cost)
            await r.limiter.settle(self.reservation, self.tier, usage.total_tokens)
