"""What a render produces: the resources a program registers, as the engine would see them."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from skyrelay.plan.wire import COMPUTED as UNKNOWN_MARK


@dataclass
class PlannedResource:
    """One RegisterResource request. `inputs` use the wire (camelCase) property names, with
    secrets shown as "[secret]" and values unknown at preview as "<unknown>"."""

    urn: str
    type: str
    name: str
    parent: str | None
    inputs: dict[str, Any]
    custom: bool
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    provider: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    # The raw protobuf request, kept for replaying into the policy analyzer; never serialised.
    request: Any = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "provider": self.provider,
            "inputs": sorted_keys(self.inputs),
            "dependencies": sorted(self.dependencies),
        }

    def unknown_paths(self) -> list[str]:
        """The input paths (`sourceArn`, `siteConfig.appSettings[3].value`) unknown at preview."""
        return sorted(_unknown_paths(self.inputs, ""))


def sorted_keys(value: Any) -> Any:
    """The same data with every mapping's keys in sorted order, so JSON comes out byte-stable."""
    if isinstance(value, dict):
        return {k: sorted_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(v) for v in value]
    return value


def _unknown_paths(value: Any, path: str):
    if value == UNKNOWN_MARK:
        yield path or "(all)"
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _unknown_paths(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _unknown_paths(v, f"{path}[{i}]")


@dataclass
class Plan:
    stack: str
    project: str
    resources: list[PlannedResource]
    outputs: dict[str, Any] = field(default_factory=dict)
    # How each invoke token was answered: [{"token", "answer": computed|context|unknown|unsupported, "count"}]
    invokes: list[dict[str, Any]] = field(default_factory=list)
    # Values no config gave, standing in for context: [{"invoke", "field", "value", "set"}]
    placeholders: list[dict[str, str]] = field(default_factory=list)

    def unknowns(self) -> list[tuple[str, str]]:
        """(urn, input path) of every input unknown at preview, in a stable order."""
        return [(r.urn, path) for r in self.resources for path in r.unknown_paths()]

    def by_type(self) -> dict[str, int]:
        return dict(sorted(Counter(r.type for r in self.resources).items()))

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str) -> PlannedResource:
        found = self.of_type(type_token)
        if len(found) != 1:
            raise LookupError(f"expected one {type_token}, found {len(found)}")
        return found[0]

    def get(self, urn: str) -> PlannedResource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)

    def to_json(self) -> dict[str, Any]:
        unknowns = self.unknowns()
        return {
            "stack": self.stack,
            "project": self.project,
            "summary": {"resources": len(self.resources), "by_type": self.by_type(), "unknown_at_preview": len(unknowns)},
            "resources": [r.to_json() for r in self.resources],
            "outputs": sorted_keys(self.outputs),
            "unknown_at_preview": [{"urn": urn, "input": path} for urn, path in unknowns],
            "invokes": self.invokes,
            "placeholders": self.placeholders,
        }
