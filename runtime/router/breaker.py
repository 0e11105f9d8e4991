"""A circuit breaker per deployment: closed -> open -> half-open (limited probes) -> closed.

`failure_threshold` consecutive failures open it. After `open_s` it lets up to `half_open_probes`
requests through at once; one success closes it, one failure opens it again. The clock is injected
so tests can move time without sleeping.
"""

import time
from collections.abc import Callable
from enum import IntEnum


class State(IntEnum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class Breaker:
    __slots__ = ("threshold", "open_s", "max_probes", "clock", "state", "failures", "opened_at", "probes")

    def __init__(self, threshold: int, open_s: float, max_probes: int = 1,
                 clock: Callable[[], float] = time.monotonic):
        self.threshold = threshold
        self.open_s = open_s
        self.max_probes = max_probes
        self.clock = clock
        self.state = State.CLOSED
        self.failures = 0
        self.opened_at = 0.0
        self.probes = 0

    def current(self) -> State:
        """The state now (an open breaker whose window passed reads as half-open)."""
        if self.state is State.OPEN and self.clock() - self.opened_at >= self.open_s:
            self.state = State.HALF_OPEN
            self.probes = 0
        return self.state

    def allow(self) -> bool:
        """Whether a request may go to this deployment now. A half-open grant must end in success/failure."""
        state = self.current()
        if state is State.CLOSED:
            return True
        if state is State.HALF_OPEN and self.probes < self.max_probes:
            self.probes += 1
            return True
        return False

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a probe through (0 if it would now)."""
        if self.current() is not State.OPEN:
            return 0.0
        return max(0.0, self.opened_at + self.open_s - self.clock())

    def on_success(self) -> None:
        self.failures = 0
        if self.state is not State.CLOSED:
            self.state = State.CLOSED
            self.probes = 0

    def on_failure(self) -> None:
        if self.state is State.HALF_OPEN:
            self._open()
            return
        self.failures += 1
        if self.state is State.CLOSED and self.failures >= self.threshold:
            self._open()

    def on_neutral(self) -> None:
        """An attempt ended with an outcome that says nothing about health (e.g. a content filter)."""
        if self.state is State.HALF_OPEN and self.probes:
            self.probes -= 1

    def _open(self) -> None:
        self.state = State.OPEN
        self.opened_at = self.clock()
        self.probes = 0
