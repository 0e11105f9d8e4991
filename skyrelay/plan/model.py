"""What a render produces: the resources a program registers, as the engine would see them."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PlannedResource:
    """One RegisterResource request. `inputs` use the wire (camelCase) property names, with
    secrets shown as "[secret]" and values unknown before deployment as "<computed>"."""

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
            "inputs": self.inputs,
            "dependencies": self.dependencies,
        }


@dataclass
class Plan:
    stack: str
    project: str
    resources: list[PlannedResource]
    outputs: dict[str, Any] = field(default_factory=dict)

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
        return {
            "stack": self.stack,
            "project": self.project,
            "summary": {"resources": len(self.resources), "by_type": self.by_type()},
            "resources": [r.to_json() for r in self.resources],
            "outputs": self.outputs,
        }
