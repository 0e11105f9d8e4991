"""A policy violation as the offline plan reports it, and the order reports list them in."""

from dataclasses import dataclass
from typing import Any

SEVERITY_ORDER = ("critical", "high", "medium", "low", "unspecified")


@dataclass
class Violation:
    policy: str
    level: str
    urn: str
    message: str
    severity: str = "unspecified"
    remediation: str = ""
    description: str = ""
    # The rule needed a value unknown at preview, so it could not judge (CrossGuard reports this as
    # an advisory "can't run policy ... during preview"); counted apart in every report.
    unknown: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "level": self.level, "urn": self.urn, "message": self.message,
                "severity": self.severity, "unknown_at_preview": self.unknown}  # fmt: skip


UNKNOWN_PREFIX = "can't run policy"


def sort_violations(violations: list[Violation]) -> list[Violation]:
    rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    return sorted(
        violations, key=lambda v: (v.level != "mandatory", rank.get(v.severity, 9), v.policy, v.urn, v.message)
    )


def mandatory(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.level == "mandatory"]
