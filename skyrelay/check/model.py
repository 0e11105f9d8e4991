"""What `skyrelay check` reports: one row per point of the seed's production checklist.

A row is pass, warn or fail, with the evidence it was judged on (resource names, figures, config
keys) and, unless it passed, the fix. The rows never raise for a stack that lacks something: a
missing resource is a failed row naming what to add. Bad input (an unknown stack, a malformed SLA
file, an unreachable Prometheus URL) is `CheckInputError`, which the command turns into exit 2.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    passed = "pass"
    warn = "warn"
    failed = "fail"


class CheckInputError(Exception):
    """Input the check cannot judge: the command exits 2 with this message."""


@dataclass
class Row:
    point: int
    title: str
    status: Status
    evidence: list[str] = field(default_factory=list)
    fix: str = ""
    # Figures a caller may assert on or a PR bot may chart (takeover seconds, p99, ...).
    figures: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"point": self.point, "title": self.title, "status": self.status.value, "evidence": self.evidence,
                "fix": self.fix, "figures": self.figures}


def judged(point: int, title: str, problems: list[str], evidence: list[str], fix: str,
           warnings: list[str] | None = None, figures: dict[str, Any] | None = None) -> Row:
    """The row for `problems` (fail), else `warnings` (warn), else pass; both are added to the evidence."""
    warnings = warnings or []
    status = Status.failed if problems else Status.warn if warnings else Status.passed
    return Row(point, title, status, [*problems, *warnings, *evidence],
               fix if status is not Status.passed else "", figures or {})
