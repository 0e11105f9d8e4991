"""Rule metadata and the two builders that turn a check function into a CrossGuard policy.

A rule is its metadata (`Rule`) plus a check. Resource checks take `ResourceValidationArgs` and
yield messages; stack checks take `StackValidationArgs` and yield `(message, urn or None)`. The
builders add what every rule shares: the type filter, URN exemptions from config, and the
metadata CrossGuard announces (severity, remediation, tags with the Checkov id).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from skyrelay.policies.config import is_exempt, schema_for

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY


@dataclass(frozen=True)
class Rule:
    """What a rule is, for CrossGuard, the offline report and the docs."""

    id: str
    description: str
    severity: Severity
    remediation: str
    enforcement: EnforcementLevel = MANDATORY
    checkov: tuple[str, ...] = ()
    cloud: str = "any"  # aws | azure | gcp | any
    kind: str = "resource"  # resource | stack
    config: tuple[str, ...] = ()  # names of extra config properties (see config.SCHEMA)

    @property
    def tags(self) -> list[str]:
        return [f"cloud:{self.cloud}", *(f"checkov:{c}" for c in self.checkov)]


ResourceCheck = Callable[[ResourceValidationArgs], Iterable[str]]
StackCheck = Callable[[StackValidationArgs], Iterable[tuple[str, str | None]]]


def _announced(rule: Rule) -> dict:
    """The policy's metadata that CrossGuard announces, the same for resource and stack policies."""
    return {
        "name": rule.id,
        "description": rule.description,
        "enforcement_level": rule.enforcement,
        "config_schema": schema_for(rule.config),
        "severity": rule.severity,
        "tags": rule.tags,
        "remediation_steps": rule.remediation,
    }


def resource_policy(
    rule: Rule, check: ResourceCheck, types: Iterable[str] = (), applies: Callable[[str], bool] | None = None
) -> ResourceValidationPolicy:
    """A ResourceValidationPolicy that runs `check` on resources of `types` (or where `applies`)."""
    type_set = frozenset(types)
    applies = applies or type_set.__contains__

    def validate(args: ResourceValidationArgs, report) -> None:
        if not applies(args.resource_type) or is_exempt(args.urn, args.get_config()):
            return
        for message in check(args):
            report(message)

    policy = ResourceValidationPolicy(validate=validate, **_announced(rule))
    policy.rule = rule
    policy.applies = applies
    return policy


def stack_policy(rule: Rule, check: StackCheck) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report) -> None:
        config = args.get_config()
        for message, urn in check(args):
            if urn is None or not is_exempt(urn, config):
                report(message, urn)

    policy = StackValidationPolicy(validate=validate, **_announced(rule))
    policy.rule = rule
    return policy
