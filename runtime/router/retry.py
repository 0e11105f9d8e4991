"""Backoff with full jitter, Retry-After, and the one deadline every request carries.

The deadline is created once per request; every attempt, fallback and backoff sleep spends from it.
"""

import random
import time
from collections.abc import Callable


class Deadline:
    __slots__ = ("clock", "expires")

    def __init__(self, budget_s: float, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.expires = clock() + budget_s

    def remaining(self) -> float:
        return max(0.0, self.expires - self.clock())

    @property
    def expired(self) -> bool:
        return self.clock() >= self.expires


def backoff(attempt: int, base_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Full jitter: uniform in [0, min(max_s, base_s * 2**attempt)]."""
    ceiling = min(max_s, base_s * (2 ** min(attempt, 30)))
    return (rng or random).uniform(0.0, ceiling)


def next_delay(attempt: int, retry_after: float | None, base_s: float, max_s: float,
               deadline: Deadline, rng: random.Random | None = None) -> float | None:
    """How long to wait before the next attempt, or None if waiting would overrun the deadline.

    A Retry-After from the upstream is a floor: we never come back sooner than it asked.
    """
    delay = backoff(attempt, base_s, max_s, rng)
    if retry_after is not None:
        delay = max(delay, retry_after)
    if delay >= deadline.remaining():
        return None
    return delay
