"""Construct's inputs -> the component's Args, driven by the declared schema types. The one place
where what crosses the wire is turned back into what the Python component takes:

- names: schema (camelCase) -> Args (snake_case), nested types and the overrides' keys included;
- numbers: the engine sends every number as a float (protobuf), so an `integer` arrives as `300.0`.
  An integral float becomes an int; `300.5` for an integer fails. (The pinned SDK's own mapping,
  `ComponentProvider.map_input_properties`, converts and then overwrites the int with the float.)
- bad inputs fail with a `ConfigError` naming the key as the Python component does
  (`AsyncJobs.worker_timeout_seconds: ...`); an input the schema does not declare fails naming
  it as written, with the known ones. Unknown overrides keys go on to the component, whose
  `resolve` fails with its own message.

Values that are Outputs (secrets, or values that depend on other resources) are converted inside
`apply`; unknown values (preview) pass through untouched.
"""

from typing import Any

from pulumi import Output
from pulumi.output import Unknown
from pulumi.provider.experimental.analyzer import PropertyDefinition, PropertyType
from pulumi.provider.experimental.util import camel_case

from skyrelay.errors import ConfigError
from skyrelay.provider.inference import Package

_KINDS: dict[PropertyType, tuple[str, type | tuple[type, ...]]] = {
    PropertyType.STRING: ("a string", str),
    PropertyType.INTEGER: ("an integer", int),
    PropertyType.NUMBER: ("a number", (int, float)),
    PropertyType.BOOLEAN: ("true or false", bool),
    PropertyType.ARRAY: ("a list", (list, tuple)),
    PropertyType.OBJECT: ("an object", dict),
}


def to_args(package: Package, token: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The Args dict for the component `token` from Construct's inputs."""
    component = package.components[token]
    name = component.hosted.component.__name__
    definition = component.definition
    return _object(package, name, inputs, definition.inputs, definition.inputs_mapping, open_keys=False)


def schema_path(key: str) -> str:
    """`AsyncJobs.overrides.max_receive_count` (a ConfigError's key) -> `overrides.maxReceiveCount`,
    the input path as a consumer in another language wrote it."""
    _, _, rest = key.partition(".")
    return ".".join(camel_case(part) for part in rest.split(".")) if rest else key


def _object(
    package: Package,
    path: str,
    value: dict[str, Any],
    props: dict[str, PropertyDefinition],
    mapping: dict[str, str],
    open_keys: bool,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if item is None:
            continue
        prop = props.get(key)
        if prop is None:
            if not open_keys:
                raise ConfigError(f"{path}.{key}", f"unknown input; known: {', '.join(sorted(props))}")
            out[_snake(key)] = item  # the component's `resolve` names it
            continue
        py_key = mapping[key]
        out[py_key] = _value(package, f"{path}.{py_key}", item, prop)
    return out


def _value(package: Package, path: str, value: Any, prop: PropertyDefinition) -> Any:
    if isinstance(value, Unknown):
        return value
    if isinstance(value, Output):
        return value.apply(lambda v: _value(package, path, v, prop))
    type_def = package.type_of(prop.ref)
    if type_def is not None:
        if not isinstance(value, dict):
            raise ConfigError(path, f"must be an object, got {value!r}")
        return _object(package, path, value, type_def.properties, type_def.properties_mapping,
                       open_keys=prop.ref.removeprefix("#/types/") in package.open_types)
    if prop.ref:  # another package's resource: passed as is
        return value
    kind = prop.type
    if kind == PropertyType.INTEGER and isinstance(value, float) and value.is_integer():
        return int(value)
    if not _is_a(kind, value):
        raise ConfigError(path, f"must be {_KINDS[kind][0]}, got {value!r}")
    if kind == PropertyType.ARRAY:
        return [_value(package, f"{path}[{i}]", v, prop.items) for i, v in enumerate(value)]
    if kind == PropertyType.OBJECT and prop.additional_properties is not None:
        return {k: _value(package, f"{path}.{k}", v, prop.additional_properties) for k, v in value.items()}
    return value


def _is_a(kind: PropertyType, value: Any) -> bool:
    if isinstance(value, bool):  # a bool is an int to Python, never to the schema
        return kind == PropertyType.BOOLEAN
    return isinstance(value, _KINDS[kind][1])


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
