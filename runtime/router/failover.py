"""The failover loop: one call over a model's deployments, in the planner's order, under one deadline.

Error classes:
- content filter, bad request: raised at once, no other deployment is tried;
- context length: only deployments with a larger context window are tried next;
- upstream 429: that deployment rests until its Retry-After (or `retry.cooldown_s`), next one is tried;
- 5xx, timeouts, resets, auth: counted by the breaker, next deployment is tried;
- when every deployment was tried in this pass, wait (backoff with full jitter, at least the earliest
  Retry-After) and start another pass, while attempts and the deadline allow.

An attempt runs in two steps (`Attempt`): `start` up to its commit point (a stream's first chunk, or a
whole non-streamed answer), then `finish` (a non-streamed answer read from an upstream stream). With a
hedge delay, an attempt that has reached no commit point after its deployment's delay is not given up:
the next deployment is started beside it, and the first to commit wins. A loser is left to reach its
commit point or its own deadline in the background (then closed), so its breaker and TTFT estimate
learn the truth: a hung deployment fails (and its breaker opens), a slow one succeeds.
"""

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from skyrelay.runtime.errors import (
    ContentFiltered,
    ContextLengthExceeded,
    Overloaded,
    ProviderError,
    UpstreamBadRequest,
    UpstreamRateLimited,
)
from skyrelay.runtime.router.breaker import State
from skyrelay.runtime.router.config import RetryConfig
from skyrelay.runtime.router.outcome import Observer
from skyrelay.runtime.router.retry import Deadline, next_delay
from skyrelay.runtime.router.strategies import DeploymentState

_FINAL = (ContentFiltered, UpstreamBadRequest)
_NEUTRAL = (ContentFiltered, UpstreamBadRequest, ContextLengthExceeded, UpstreamRateLimited)
_NEUTRAL_OUTCOMES = frozenset({"client_closed", "cancelled"})


class Hedging:
    """When another deployment is started beside a slow attempt, and how many such hedges may run: at most
    `share` of the requests in flight (at least `MIN`). When every attempt is slow because the router itself
    is overloaded, hedging must not multiply the load; a hedge the budget refuses is asked for again soon."""

    MIN = 3
    RETRY_S = 0.05
    __slots__ = ("min_s", "initial_s", "max_s", "share", "requests", "running")

    def __init__(self, min_s: float, initial_s: float, max_s: float, share: float):
        self.min_s, self.initial_s, self.max_s, self.share = min_s, initial_s, max_s, share
        self.requests = self.running = 0

    def delay(self, dep: DeploymentState) -> float:
        return dep.hedge_delay(self.min_s, self.initial_s, self.max_s)

    def allow(self) -> bool:
        return self.running < max(self.MIN, int(self.requests * self.share))

    def ended(self, _task=None) -> None:
        self.running -= 1


@dataclass(slots=True)
class Attempt:
    """How one deployment is tried. `start(dep)` runs to the commit point; `finish(dep, value)`, if given,
    turns the winner's value into the answer (its errors fail over like `start`'s); `discard(value)`
    releases the value of a loser. `hedge`: when to start another deployment beside a slow attempt (None:
    one attempt at a time). `deferred`: the caller judges the winner when it really ends (a stream)."""

    start: Callable[[DeploymentState], Awaitable[Any]]
    finish: Callable[[DeploymentState, Any], Awaitable[Any]] | None = None
    discard: Callable[[Any], Awaitable[None]] | None = None
    hedge: Hedging | None = None
    deferred: bool = False


async def failover(order: list[DeploymentState], deadline: Deadline, how: Attempt, *, retry: RetryConfig,
                   clock: Callable[[], float], sleep: Callable[[float], Awaitable[None]], rng: random.Random,
                   observer: Observer, background: set | None = None) -> tuple[Any, DeploymentState]:
    """Tries the deployments in `order` until one succeeds, by the error classes above. Hedged attempts that
    lost are kept in `background` until they end."""
    return await _Failover(order, deadline, how, retry, clock, sleep, rng, observer, background).run()


def judge(dep: DeploymentState, obs: Observer, seconds: float, exc: BaseException | None = None,
          outcome: str | None = None) -> None:
    """Feeds one finished attempt to its deployment's breaker and to the metrics: no error is a success;
    a content filter, bad request, context length or upstream 429 says nothing about the deployment's
    health (neutral), nor does an attempt whose client left or that was cancelled (`outcome`
    "client_closed", "cancelled"); any other error is a failure. `outcome` also labels a success
    ("hedge_lost": it committed after another deployment had won)."""
    breaker = dep.breaker
    state = breaker.state
    if isinstance(exc, _NEUTRAL) or (exc is None and outcome in _NEUTRAL_OUTCOMES):
        breaker.on_neutral()
    elif exc is None:
        breaker.on_success()
    else:
        breaker.on_failure()
    if breaker.state != state:
        obs.breaker(dep.name, int(breaker.state))
    if outcome is None:
        outcome = "ok" if exc is None else getattr(exc, "code", "internal_error")
    obs.attempt(dep.name, outcome, seconds)


class _Failover:
    __slots__ = ("order", "deadline", "how", "retry", "clock", "sleep", "rng", "obs", "background", "attempts",
                 "passes", "min_context", "tried", "last", "running", "newest", "hedge_at", "no_hedge")

    def __init__(self, order, deadline, how, retry, clock, sleep, rng, obs, background):
        self.order, self.deadline, self.how, self.retry = order, deadline, how, retry
        self.clock, self.sleep, self.rng, self.obs = clock, sleep, rng, obs
        self.background = background if background is not None else set()
        self.attempts = self.passes = self.min_context = 0
        self.tried: set[str] = set()
        self.last: ProviderError | None = None
        self.running: dict[asyncio.Task, tuple[DeploymentState, float]] = {}  # hedged attempts in flight
        self.newest: tuple[DeploymentState, float] | None = None
        self.hedge_at = 0.0  # when another attempt may start beside those running
        self.no_hedge = False  # no deployment was free for a hedge: wait for an attempt to end

    async def run(self):
        hedging = self.how.hedge if len(self.order) > 1 else None  # one deployment: nothing to hedge with
        if hedging is not None:
            hedging.requests += 1
        try:
            while True:
                if not self.running:
                    dep = self._pick()
                    if dep is None:
                        await self._next_pass()
                        continue
                    if hedging is None:
                        done = await self._one(dep)
                        if done is not None:
                            return done
                        continue
                    self._launch(dep)
                done = await self._race()
                if done is not None:
                    return done
        finally:
            if hedging is not None:
                hedging.requests -= 1
            for task, (dep, t0) in self.running.items():  # a final error, or the request itself was cancelled
                task.cancel()
                self._keep(task, dep, t0)

    # ---- choosing ----
    def _pick(self) -> DeploymentState | None:
        """The next deployment to try now (its breaker grants the attempt), or None."""
        if self.attempts >= self.retry.attempts or self.deadline.expired:
            return None
        now = self.clock()
        for s in self.order:
            if s.name in self.tried or s.cfg.context_window <= self.min_context or s.cooldown_until > now:
                continue
            before = s.breaker.state
            if s.breaker.allow():
                if s.breaker.state != before:
                    self.obs.breaker(s.name, int(s.breaker.state))
                self.attempts += 1
                self.tried.add(s.name)
                return s
        return None

    async def _next_pass(self) -> None:
        """Every deployment was tried (or none is free): back off for another pass, or raise."""
        if self.attempts >= self.retry.attempts or self.deadline.expired:
            raise self._no_deployment()
        # Wait only for deployments resting after a 429; an open breaker means "not now": fail fast.
        now = self.clock()
        waiting = [s for s in self.order if s.cfg.context_window > self.min_context
                   and s.breaker.current() is not State.OPEN]
        if not waiting or self.passes >= self.retry.attempts:
            raise self._no_deployment()
        soonest = min(s.cooldown_until - now for s in waiting)
        r = self.retry
        delay = next_delay(self.passes, soonest if soonest > 0 else None, r.base_s, r.max_s, self.deadline, self.rng)
        if delay is None:
            raise self._no_deployment()
        await self.sleep(delay)
        self.passes += 1
        self.tried.clear()

    # ---- one attempt at a time ----
    async def _one(self, dep: DeploymentState):
        t0 = self.clock()
        try:
            value = await self.how.start(dep)
        except ProviderError as exc:
            self._failed(dep, t0, exc)
            return None
        return await self._commit(dep, t0, value)

    # ---- hedged attempts ----
    def _launch(self, dep: DeploymentState) -> asyncio.Task:
        t0 = self.clock()
        task = asyncio.ensure_future(self.how.start(dep))
        self.running[task] = self.newest = (dep, t0)
        self.hedge_at = t0 + self.how.hedge.delay(dep)
        return task

    async def _race(self):
        """Waits for the next attempt to end, or for the moment to start another beside those running: the
        newest one's hedge delay (at once when it has already failed; a little later when the hedge budget
        is spent)."""
        hedging, timeout = self.how.hedge, None
        if not self.no_hedge and self.attempts < self.retry.attempts:
            timeout = max(0.0, self.hedge_at - self.clock())
        done, _ = await asyncio.wait(self.running, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if not done:
            if not hedging.allow():
                self.hedge_at = self.clock() + hedging.RETRY_S
                return None
            dep = self._pick()
            if dep is None:
                self.no_hedge = True
            else:
                hedging.running += 1
                self._launch(dep).add_done_callback(hedging.ended)
            return None
        self.no_hedge = False
        winner = final = None
        for task in done:
            entry = self.running.pop(task)
            if entry is self.newest:  # the newest ended: the next may start at once
                self.hedge_at = self.clock()
            exc = task.exception()
            if exc is None and winner is None:
                winner = (*entry, task.result())
            elif exc is None:  # two committed at once: the second is a loser like any other
                self._keep(task, *entry)
            elif not isinstance(exc, ProviderError):
                raise exc
            elif isinstance(exc, _FINAL):
                judge(entry[0], self.obs, self.clock() - entry[1], exc)
                final = exc
            else:
                self._failed(*entry, exc)
        if winner is None:
            if final is not None:
                raise final
            return None
        for task, entry in self.running.items():
            self._keep(task, *entry)
        self.running.clear()
        return await self._commit(*winner)

    def _keep(self, task: asyncio.Task, dep: DeploymentState, t0: float) -> None:
        """A loser: judged, and its value discarded, when it ends by itself (it is bounded by its own deadline)."""
        self.background.add(task)

        def ended(task: asyncio.Task) -> None:
            self.background.discard(task)
            seconds = self.clock() - t0
            if task.cancelled():
                judge(dep, self.obs, seconds, outcome="cancelled")
                return
            exc = task.exception()
            if exc is not None:
                judge(dep, self.obs, seconds, exc)
                return
            judge(dep, self.obs, seconds, outcome="hedge_lost")
            if self.how.discard is not None:
                closing = asyncio.ensure_future(self.how.discard(task.result()))
                self.background.add(closing)
                closing.add_done_callback(self.background.discard)

        if task.done():
            ended(task)
        else:
            task.add_done_callback(ended)

    # ---- outcomes ----
    async def _commit(self, dep: DeploymentState, t0: float, value):
        """The winner's `finish`, then its judgement (unless deferred); None to fail over after all."""
        how = self.how
        if how.finish is not None:
            try:
                value = await how.finish(dep, value)
            except ProviderError as exc:
                self._failed(dep, t0, exc)
                return None
        if not how.deferred:
            judge(dep, self.obs, self.clock() - t0)
        return value, dep

    def _failed(self, dep: DeploymentState, t0: float, exc: ProviderError) -> None:
        judge(dep, self.obs, self.clock() - t0, exc)
        if isinstance(exc, _FINAL):
            raise exc
        self.last = exc
        if isinstance(exc, ContextLengthExceeded):
            self.min_context = max(self.min_context, dep.cfg.context_window)
        elif isinstance(exc, UpstreamRateLimited):
            rest = exc.retry_after if exc.retry_after is not None else self.retry.cooldown_s
            dep.cooldown_until = self.clock() + rest

    def _no_deployment(self) -> Exception:
        """The error a failed failover raises: the last upstream error, else Overloaded until the soonest retry."""
        if self.last is not None:
            return self.last
        now = self.clock()
        wait = min((max(s.cooldown_until - now, s.breaker.retry_in()) for s in self.order), default=1.0)
        return Overloaded("no deployment of this model is available right now", retry_after=max(wait, 0.001))
