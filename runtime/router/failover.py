"""The failover loop: one call over a model's deployments, in the planner's order, under one deadline.

Error classes:
- content filter, bad request: raised at once, no other deployment is tried;
- context length: only deployments with a larger context window are tried next;
- upstream 429: that deployment rests until its Retry-After (or `retry.cooldown_s`), next one is tried;
- 5xx, timeouts, resets, auth: counted by the breaker, next deployment is tried;
- when every deployment was tried in this pass, wait (backoff with full jitter, at least the earliest
  Retry-After) and start another pass, while attempts and the deadline allow.
"""

import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

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

T = TypeVar("T")
_FINAL = (ContentFiltered, UpstreamBadRequest)
_NEUTRAL = (ContentFiltered, UpstreamBadRequest, ContextLengthExceeded, UpstreamRateLimited)


async def failover(order: list[DeploymentState], deadline: Deadline, attempt: Callable[[DeploymentState], Awaitable[T]],
                   *, retry: RetryConfig, clock: Callable[[], float], sleep: Callable[[float], Awaitable[None]],
                   rng: random.Random, observer: Observer, deferred: bool = False) -> tuple[T, DeploymentState]:
    """Tries `attempt` on the deployments in `order` until one succeeds, by the error classes above.

    With `deferred`, a success is not judged here: the caller judges the attempt when it really ends
    (a stream, whose first chunk is only the commit point)."""
    max_attempts = retry.attempts
    attempts = 0
    passes = 0
    min_context = 0
    tried: set[str] = set()
    last: ProviderError | None = None
    obs = observer
    while True:
        now = clock()
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
                raise _no_deployment(last, order, clock)
            # Wait only for deployments resting after a 429; an open breaker means "not now": fail fast.
            waiting = [s for s in order if s.cfg.context_window > min_context
                       and s.breaker.current() is not State.OPEN]
            if not waiting or passes >= max_attempts:
                raise _no_deployment(last, order, clock)
            soonest = min(s.cooldown_until - now for s in waiting)
            delay = next_delay(passes, soonest if soonest > 0 else None, retry.base_s,
                               retry.max_s, deadline, rng)
            if delay is None:
                raise _no_deployment(last, order, clock)
            await sleep(delay)
            passes += 1
            tried.clear()
            continue
        attempts += 1
        tried.add(dep.name)
        t0 = clock()
        try:
            value = await attempt(dep)
        except ProviderError as exc:
            judge(dep, obs, clock() - t0, exc)
            if isinstance(exc, _FINAL):
                raise
            last = exc
            if isinstance(exc, ContextLengthExceeded):
                min_context = max(min_context, dep.cfg.context_window)
            elif isinstance(exc, UpstreamRateLimited):
                rest = exc.retry_after if exc.retry_after is not None else retry.cooldown_s
                dep.cooldown_until = clock() + rest
            continue
        if not deferred:
            judge(dep, obs, clock() - t0)
        return value, dep


def judge(dep: DeploymentState, obs: Observer, seconds: float, exc: BaseException | None = None,
          outcome: str | None = None) -> None:
    """Feeds one finished attempt to its deployment's breaker and to the metrics: no error is a success;
    a content filter, bad request, context length or upstream 429 says nothing about the deployment's
    health (neutral); any other error is a failure. `outcome` (e.g. "client_closed") marks a neutral
    end that is not an error."""
    breaker = dep.breaker
    state = breaker.state
    if outcome is not None or isinstance(exc, _NEUTRAL):
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


def _no_deployment(last: ProviderError | None, order: list[DeploymentState], clock: Callable[[], float]) -> Exception:
    """The error a failed failover raises: the last upstream error, else Overloaded until the soonest retry."""
    if last is not None:
        return last
    now = clock()
    wait = min((max(s.cooldown_until - now, s.breaker.retry_in()) for s in order), default=1.0)
    return Overloaded("no deployment of this model is available right now", retry_after=max(wait, 0.001))
