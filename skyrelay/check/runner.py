"""Runs the eight points in order. Points 5 and 6 measure (the failover scenario on the simulator,
latency from a load run or Prometheus) only when asked; otherwise they judge the config statically."""

from dataclasses import dataclass
from pathlib import Path

from skyrelay.check import (
    p1_async,
    p2_breakers,
    p3_caching,
    p4_gateway_limits,
    p5_failover,
    p6_sla,
    p7_budgets,
    p8_batch,
)
from skyrelay.check.model import Row
from skyrelay.check.subject import Subject


@dataclass
class Options:
    failover: bool = False  # run the takeover scenario on the local simulator
    sla: Path | None = None  # budgets file for point 6
    prometheus: str | None = None  # measure point 6 from this Prometheus instead of a built-in load run


def run(subject: Subject, options: Options | None = None) -> list[Row]:
    options = options or Options()
    return [
        p1_async.check(subject),
        p2_breakers.check(subject),
        p3_caching.check(subject),
        p4_gateway_limits.check(subject),
        p5_failover.check(subject, measure=options.failover),
        p6_sla.check(subject, options.sla, options.prometheus),
        p7_budgets.check(subject),
        p8_batch.check(subject),
    ]
