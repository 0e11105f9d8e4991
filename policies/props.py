"""Reading CrossGuard property bags: Mapping/Sequence proxies, JSON-encoded documents, and the
resource graph (parent, dependencies, property_dependencies) that stack rules follow."""

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def get(props: Any, path: str, default: Any = None) -> Any:
    """`get(props, "tracingConfig.mode")`: nested lookup that tolerates missing levels."""
    node = props
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return default
        node = node[key]
    return default if node is None else node


def as_list(value: Any) -> list:
    """A list from a list, a single value, or nothing (IAM's "Action": "x" or ["x", "y"])."""
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        return [value]
    return list(value)


def as_map(value: Any) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def as_json(value: Any) -> Any:
    """A policy document or similar: the wire carries either a JSON string or an object."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def number(value: Any, default: float | None = None) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def of_type(resources: Iterable, *types: str) -> list:
    wanted = set(types)
    return [r for r in resources if r.resource_type in wanted]


class Graph:
    """Finds what a resource's property points at: first through `property_dependencies` (the
    references the program made with Outputs), then by the string's value (a hard-coded ARN, URL
    or name). Indexed once per stack, so stack rules stay linear in the number of resources."""

    _for: list | None = None  # the resources list the cached graphs index (kept alive, so its id is stable)
    _cache: dict = {}

    def __init__(self, resources: Iterable, types: Iterable[str]):
        wanted = set(types)
        self.by_ref: dict[str, list] = {}
        for r in resources:
            if r.resource_type in wanted:
                for ref in identifiers(r):
                    self.by_ref.setdefault(ref, []).append(r)

    @classmethod
    def of(cls, resources: list, *types: str) -> "Graph":
        """The graph of `types` in `resources`, reused while the same stack is being judged."""
        if cls._for is not resources or cls._cache.get("len") != len(resources):
            Graph._for, Graph._cache = resources, {"len": len(resources)}
        key = frozenset(types)
        if key not in cls._cache:
            cls._cache[key] = cls(resources, types)
        return cls._cache[key]

    def targets(self, resource, prop: str, ref: Any, types: Iterable[str]) -> list:
        wanted = set(types)
        found = [d for d in resource.property_dependencies.get(prop, ()) if d.resource_type in wanted]
        if not found and isinstance(ref, str) and ref:
            candidates = self.by_ref.get(ref, [])
            if not candidates:
                tail = ref.replace("/", ":").rsplit(":", 1)[-1]
                candidates = [c for c in self.by_ref.get(tail, []) if refers_to(ref, c)]
            found = [c for c in candidates if c.resource_type in wanted]
        return found


def identifiers(resource) -> set[str]:
    """The strings other resources may use to point at `resource`: urn, name, arn, url, id."""
    out = {resource.urn}
    props = resource.props if isinstance(resource.props, Mapping) else {}
    for key in ("name", "arn", "url", "id"):
        v = props.get(key)
        if isinstance(v, str) and v:
            out.add(v)
    return out


def refers_to(ref: Any, target) -> bool:
    """Whether a plain string reference (ARN, URL, name) designates `target`."""
    if not isinstance(ref, str) or not ref:
        return False
    if ref in identifiers(target):
        return True
    name = target.props.get("name") if isinstance(target.props, Mapping) else None
    # ARNs and URLs end with the resource name (arn:...:queue-name, https://.../queue-name, ...:function:name)
    return isinstance(name, str) and bool(name) and (ref.endswith(":" + name) or ref.endswith("/" + name))
