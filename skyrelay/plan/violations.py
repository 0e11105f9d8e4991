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

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "level": self.level, "urn": self.urn, "message": self.message,
                "severity": self.severity}  # fmt: skip


def sort_violations(violations: list[Violation]) -> list[Violation]:
    rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    return sorted(violations, key=lambda v: (v.level != "mandatory", rank.get(v.severity, 9), v.policy, v.urn))


def mandatory(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.level == "mandatory"]
