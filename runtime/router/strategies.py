"""Ordering the eligible deployments of a logical model for one request.

The router tries deployments in the order returned here. The pieces, applied in this order:
1. eligibility: tenant-pinned dedicated deployments first; dedicated deployments pinned to nobody
   else are never offered to other tenants; deployments whose context window cannot hold the
   request are dropped;
2. the model's strategy: priority (config order), smooth weighted round robin, or latency (EWMA);
3. canary: a deployment with `canary_percent` leads for that share of requests and goes last otherwise;
4. preference (`X-Model-Preference: fast|quality|cheap`): a stable sort key over the result, so the
   strategy order breaks ties.
"""

import random
import time
from collections.abc import Callable

from skyrelay.runtime.router.breaker import Breaker
from skyrelay.runtime.router.config import Deployment, ModelConfig
from skyrelay.tiers import ModelClass

PREFERENCES = ("fast", "quality", "cheap")
_ALPHA = 0.3  # EWMA weight of the newest sample


class DeploymentState:
    """A deployment's config plus what the router learns about it at run time."""

    __slots__ = ("cfg", "name", "upstream", "breaker", "ttft", "ttft_dev", "total", "cooldown_until", "wrr",
                 "price_sum")

    def __init__(self, cfg: Deployment, breaker: Breaker):
        self.cfg = cfg
        self.name = cfg.name
        self.upstream = cfg.upstream()
        self.breaker = breaker
        self.ttft: float | None = None
        self.ttft_dev = 0.0  # EWMA of |sample - ttft|: with `ttft`, the hedge delay
        self.total: float | None = None
        self.cooldown_until = 0.0
        self.wrr = 0.0
        self.price_sum = cfg.price.input + cfg.price.output

    def observe(self, total_s: float, ttft_s: float | None = None) -> None:
        self.total = total_s if self.total is None else self.total + _ALPHA * (total_s - self.total)
        if ttft_s is not None:
            self.observe_ttft(ttft_s)

    def observe_ttft(self, ttft_s: float) -> None:
        if self.ttft is None:
            self.ttft, self.ttft_dev = ttft_s, ttft_s / 2  # as TCP starts its RTT variance
            return
        self.ttft_dev += _ALPHA * (abs(ttft_s - self.ttft) - self.ttft_dev)
        self.ttft += _ALPHA * (ttft_s - self.ttft)

    def hedge_delay(self, min_s: float, initial_s: float, max_s: float) -> float:
        """How long an attempt may go without a first chunk before the next deployment is started too: a
        high percentile of this deployment's TTFT (mean + 4 mean deviations, as TCP's retransmission
        timeout), clamped to [min_s, max_s]; `initial_s` before the first sample."""
        if self.ttft is None:
            return initial_s
        return min(max_s, max(min_s, self.ttft + 4 * self.ttft_dev))

    def latency_key(self, stream: bool) -> float:
        value = self.ttft if stream and self.ttft is not None else self.total
        return 0.0 if value is None else value  # unmeasured deployments get explored first


def smooth_wrr(states: list[DeploymentState]) -> DeploymentState:
    """nginx's smooth weighted round robin: deterministic, evenly interleaved by weight."""
    total = 0
    best = None
    for s in states:
        w = s.cfg.weight
        s.wrr += w
        total += w
        if best is None or s.wrr > best.wrr:
            best = s
    assert best is not None
    best.wrr -= total
    return best


def _pref_key(pref: str, stream: bool) -> Callable[[DeploymentState], tuple]:
    if pref == "fast":
        return lambda s: ("fast" not in s.cfg.capabilities, s.latency_key(stream))
    if pref == "quality":
        return lambda s: ("quality" not in s.cfg.capabilities, -s.cfg.context_window)
    return lambda s: ("cheap" not in s.cfg.capabilities, s.price_sum)


class Planner:
    """Builds the try-order for a request. One per logical model."""

    def __init__(self, model: ModelConfig, states: list[DeploymentState], rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.model = model
        self.states = states
        self.rng = rng or random.Random()
        self.clock = clock
        self.shared = [s for s in states if s.cfg.model_class != ModelClass.DEDICATED]

    def order(self, pinned: frozenset[str] = frozenset(), preference: str | None = None,
              needed_context: int = 0, stream: bool = False) -> list[DeploymentState]:
        dedicated = [s for s in self.states if s.name in pinned] if pinned else []
        pool = [s for s in self.shared if s.name not in pinned] if pinned else self.shared
        if needed_context:
            fits = [s for s in pool if s.cfg.context_window >= needed_context]
            pool = fits or pool  # let the upstream say no rather than guess wrong on an estimate

        strategy = self.model.strategy
        if strategy == "weighted" and len(pool) > 1:
            weighted = [s for s in pool if s.cfg.weight > 0]
            if weighted:
                first = smooth_wrr(weighted)
                pool = [first] + [s for s in pool if s is not first]
        elif strategy == "latency" and len(pool) > 1:
            pool = sorted(pool, key=lambda s: s.latency_key(stream))

        canaries = [s for s in pool if s.cfg.canary_percent > 0]
        if canaries:
            rest = [s for s in pool if s.cfg.canary_percent <= 0]
            lead = [c for c in canaries if self.rng.random() * 100 < c.cfg.canary_percent]
            pool = lead[:1] + rest + [c for c in canaries if c not in lead[:1]]

        if preference in PREFERENCES:
            pool = sorted(pool, key=_pref_key(preference, stream))
        return dedicated + pool
