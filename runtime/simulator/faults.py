"""Fault names, how a request picks one, and the per-model fault registry of the control API.

A request's fault comes from, in order: the `x-sim-fault` header (`name` or `name:param`), the
model / deployment name (`...x-fault-<name>[-<param>]`, e.g. `x-fault-cut-3`), then a fault set on
that model through `POST /_sim/faults` (for a duration and/or a number of calls).
"""

import contextlib
import time
from dataclasses import dataclass, field

# name -> (the parameter a bare number sets, its default)
FAULTS: dict[str, tuple[str | None, float | None]] = {
    "429": ("retry_after", 1.0),           # 429 with Retry-After (and retry-after-ms on OpenAI/Azure)
    "429-no-retry-after": (None, None),    # 429 without any retry hint
    "500": (None, None),
    "503": (None, None),
    "401": (None, None),                   # upstream auth failure
    "reset": (None, None),                 # TCP reset before any response byte
    "hang": ("seconds", 600.0),            # accept, never answer (until the client gives up)
    "slow-first-token": ("delay_ms", 2000.0),  # extra delay before headers (sync) / first chunk (stream)
    "cut": ("after_chunks", 2.0),          # stream: TCP reset after N content chunks
    "stall": ("after_chunks", 2.0),        # stream: stop sending after N chunks, keep the socket open
    "malformed": ("after_chunks", 1.0),    # stream: an unparseable chunk after N chunks
    "no-end": (None, None),                # stream: body ends without the end-of-stream marker
    "context-length": (None, None),        # the provider's real context-length error
    "content-filter": (None, None),        # the provider's real content-filter outcome
    "down": (None, None),                  # like 503; meant for `POST /_sim/faults` with duration_s
    "invalid-json": (None, None),          # structured output / tool arguments that are not valid JSON
}
# Longest first, so `429-no-retry-after` wins over `429` when parsing model names.
_BY_LENGTH = sorted(FAULTS, key=len, reverse=True)
MODEL_MARKER = "x-fault-"


@dataclass(slots=True)
class Fault:
    name: str
    params: dict = field(default_factory=dict)

    def param(self, key: str | None = None) -> float:
        key = key or FAULTS[self.name][0]
        value = self.params.get(key)
        return float(FAULTS[self.name][1] if value is None else value)


def _with_param(name: str, raw: str | None) -> Fault:
    key = FAULTS[name][0]
    params: dict = {}
    if raw and key:
        with contextlib.suppress(ValueError):
            params[key] = float(raw)
    return Fault(name, params)


def from_header(value: str | None) -> Fault | None:
    if not value:
        return None
    name, _, raw = value.strip().partition(":")
    return _with_param(name, raw) if name in FAULTS else None


def from_model(model: str) -> Fault | None:
    at = model.find(MODEL_MARKER)
    if at < 0:
        return None
    rest = model[at + len(MODEL_MARKER):]
    for name in _BY_LENGTH:
        if rest == name:
            return Fault(name)
        if rest.startswith(name + "-"):
            return _with_param(name, rest[len(name) + 1:])
    return None


@dataclass(slots=True)
class Rule:
    fault: Fault
    until: float | None  # monotonic deadline, None = until cleared
    remaining: int | None  # calls left, None = unlimited


class FaultRegistry:
    """Faults set per upstream model by the control API."""

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}

    def set(self, model: str, name: str | None, duration_s: float | None = None, count: int | None = None,
            params: dict | None = None) -> None:
        if not name or name == "none":
            self._rules.pop(model, None)
            return
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
        until = time.monotonic() + duration_s if duration_s else None
        self._rules[model] = Rule(Fault(name, dict(params or {})), until, count)

    def take(self, model: str) -> Fault | None:
        rule = self._rules.get(model)
        if rule is None:
            return None
        if rule.until is not None and time.monotonic() >= rule.until:
            del self._rules[model]
            return None
        if rule.remaining is not None:
            rule.remaining -= 1
            if rule.remaining <= 0:
                del self._rules[model]
        return rule.fault

    def snapshot(self) -> dict:
        now = time.monotonic()
        return {m: {"fault": r.fault.name, "params": r.fault.params,
                    "remaining_s": None if r.until is None else max(0.0, round(r.until - now, 3)),
                    "remaining_calls": r.remaining}
                for m, r in self._rules.items() if r.until is None or r.until > now}

    def clear(self) -> None:
        self._rules.clear()
