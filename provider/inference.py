"""The package schema, inferred from the components' typed Args by the pinned SDK's analyzer
(`pulumi.provider.experimental`), with what that analyzer leaves out added here, in one place:

- **A module per cloud.** The analyzer puts every token in `index` and keys types by class name,
  so two clouds' `CostGuard` would collide. Each cloud is analysed on its own and its tokens move
  to `skyrelay:<cloud>:` (hosted.py says why).
- **Inherited descriptions.** The analyzer reads an attribute's docstring from the analysed class's
  own source only; a TypedDict also forgets its bases at run time (Python 3.11). Fields declared
  once in a shared base (`components/async_jobs.py: SharedArgs`) get their docstrings from the class
  statement that declares them.
- **`overrides` is typed**, not `Any`: each component gets a `<Name>Overrides` object generated from
  its defaults table (`components/<cloud>/defaults.py`), each key with its type, default and why.
  Construct hands unknown keys on to the component, whose `resolve` fails naming them.
- **Secrets.** Inputs a Hosted entry lists in `secret_inputs` are marked `secret`.
"""

import ast
import inspect
import json
import sys
import textwrap
from dataclasses import dataclass, field, replace
from typing import Any

from pulumi.provider.experimental.analyzer import (
    Analyzer,
    ComponentDefinition,
    PropertyDefinition,
    PropertyType,
    TypeDefinition,
)
from pulumi.provider.experimental.schema import ComplexType, PackageDescriptor, PackageSpec, Resource
from pulumi.provider.experimental.util import camel_case

from skyrelay.components.defaults import Default
from skyrelay.provider.hosted import HOSTED, PACKAGE, Hosted

DESCRIPTION = "skyrelay: the async AI job pattern and its cost guardrails on AWS, Azure and GCP, as Pulumi components."
OVERRIDES = "overrides"


@dataclass
class HostedComponent:
    hosted: Hosted
    definition: ComponentDefinition  # inputs/outputs with their schema <-> Python name mappings


@dataclass
class Package:
    schema: dict[str, Any]
    components: dict[str, HostedComponent]  # by token
    types: dict[str, TypeDefinition]  # by the token `#/types/<token>` refs name
    open_types: set[str] = field(default_factory=set)  # types whose unknown keys go on to the component

    def type_of(self, ref: str | None) -> TypeDefinition | None:
        """The package's own type a `#/types/...` ref names (None for other packages' resources)."""
        if ref and ref.startswith("#/types/"):
            return self.types[ref.removeprefix("#/types/")]
        return None


def infer(version: str, hosted: tuple[Hosted, ...] = HOSTED) -> Package:
    components: dict[str, HostedComponent] = {}
    types: dict[str, TypeDefinition] = {}
    open_types: set[str] = set()
    dependencies = set()
    for cloud in dict.fromkeys(h.cloud for h in hosted):
        group = [h for h in hosted if h.cloud == cloud]
        analyzer = _Analyzer(PACKAGE)
        result = analyzer.analyze([h.component for h in group])
        dependencies |= result["dependencies"]
        for name, type_def in result["type_definitions"].items():
            types[_token(cloud, name)] = _moved_type(type_def, cloud)
        for h in group:
            definition = _moved_component(result["component_definitions"][h.component.__name__], cloud)
            if OVERRIDES in definition.inputs:
                overrides = _overrides_type(h)
                types[_token(cloud, overrides.name)] = overrides
                open_types.add(_token(cloud, overrides.name))
                definition.inputs[OVERRIDES] = PropertyDefinition(
                    ref=f"#/types/{_token(cloud, overrides.name)}",
                    optional=True,
                    plain=True,
                    description=(
                        f"Changes to the {h.component.__name__} defaults table (default: none, every default "
                        f"applies); each setting's type, default and why are in `{overrides.name}`. An unknown "
                        "setting fails, naming it."
                    ),
                )
            components[h.token] = HostedComponent(h, definition)
    spec = PackageSpec(
        name=PACKAGE,
        version=version,
        displayName=PACKAGE,
        namespace=None,
        resources={token: Resource.from_definition(c.definition) for token, c in components.items()},
        types={token: ComplexType.from_definition(t) for token, t in types.items()},
        language={lang: {"respectSchemaVersion": True} for lang in ("nodejs", "python", "csharp", "java", "go")},
        dependencies=[PackageDescriptor.from_definition(d) for d in sorted(dependencies, key=lambda d: d.name)],
    )
    schema = spec.to_json()
    schema["description"] = DESCRIPTION
    schema["license"] = "Apache-2.0"
    for token, c in components.items():
        for key in c.hosted.secret_inputs:
            schema["resources"][token]["inputProperties"][camel_case(key)]["secret"] = True
    return Package(schema=schema, components=components, types=types, open_types=open_types)


def schema_json(package: Package) -> str:
    return json.dumps(package.schema, indent=2, sort_keys=True)


class _Analyzer(Analyzer):
    """The SDK's analyzer, reading each attribute's docstring from the class statement that declares it."""

    def get_docstring(self, typ: type, name: str) -> str | None:
        for cls in _lineage(typ):
            doc = super().get_docstring(cls, name)
            if doc:
                return inspect.cleandoc(doc)
        return None


def _lineage(typ: type) -> list[type]:
    """`typ` and the classes its class statement derives from, nearest first. Read from the source:
    a TypedDict's `__mro__` is (itself, dict, object) whatever it was declared to extend."""
    found = [typ]
    try:
        node = ast.parse(textwrap.dedent(inspect.getsource(typ))).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return found
    names = vars(sys.modules[typ.__module__])
    for base in getattr(node, "bases", ()):
        cls = names.get(base.id) if isinstance(base, ast.Name) else None
        if isinstance(cls, type) and cls not in (dict, object):
            found += _lineage(cls)
    return found


def _token(cloud: str, name: str) -> str:
    return f"{PACKAGE}:{cloud}:{name}"


def _moved(prop: PropertyDefinition, cloud: str) -> PropertyDefinition:
    """`prop` with refs to the package's own types moved from `index` to the cloud's module."""
    index = f"#/types/{PACKAGE}:index:"
    return replace(
        prop,
        ref=prop.ref.replace(index, f"#/types/{PACKAGE}:{cloud}:") if prop.ref else None,
        items=_moved(prop.items, cloud) if prop.items else None,
        additional_properties=_moved(prop.additional_properties, cloud) if prop.additional_properties else None,
    )


def _moved_type(type_def: TypeDefinition, cloud: str) -> TypeDefinition:
    return replace(type_def, properties={k: _moved(p, cloud) for k, p in type_def.properties.items()})


def _moved_component(definition: ComponentDefinition, cloud: str) -> ComponentDefinition:
    return replace(
        definition,
        inputs={k: _moved(p, cloud) for k, p in definition.inputs.items()},
        outputs={k: _moved(p, cloud) for k, p in definition.outputs.items()},
    )


def _overrides_type(h: Hosted) -> TypeDefinition:
    """The `<Name>Overrides` object: one optional property per defaults-table key."""
    props = {camel_case(key): _setting(key, d) for key, d in h.defaults.items()}
    return TypeDefinition(
        name=f"{h.component.__name__}Overrides",
        type=PropertyType.OBJECT,
        properties=props,
        properties_mapping={camel_case(key): key for key in h.defaults},
        module=h.component.__module__,
        python_type=dict,
        description=(
            f"Settings of the {h.component.__name__} defaults table (`components/{h.cloud}/defaults.py`) a "
            "program may change. Overriding a secure default logs a warning naming it."
        ),
    )


_SIMPLE = ((bool, PropertyType.BOOLEAN), (int, PropertyType.INTEGER), (float, PropertyType.NUMBER), (str, PropertyType.STRING))


def _setting(key: str, d: Default) -> PropertyDefinition:
    why = d.why[0].upper() + d.why[1:]
    secure = " A secure default: overriding it logs a warning." if d.secure else ""
    description = f"{why}. Default: `{json.dumps(d.value)}`.{secure}"
    value = d.value
    if isinstance(value, tuple | list):
        kinds = {_simple_type(key, v) for v in value}
        if len(kinds) != 1:
            raise TypeError(f"defaults table key {key!r}: cannot type the sequence {value!r}")
        items = PropertyDefinition(type=kinds.pop(), plain=True)
        return PropertyDefinition(type=PropertyType.ARRAY, items=items, optional=True, plain=True, description=description)
    return PropertyDefinition(type=_simple_type(key, value), optional=True, plain=True, description=description)


def _simple_type(key: str, value: Any) -> PropertyType:
    for python_type, schema_type in _SIMPLE:
        if isinstance(value, python_type):
            return schema_type
    raise TypeError(f"defaults table key {key!r}: no schema type for the default {value!r}")
