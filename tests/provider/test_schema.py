"""The served schema's types: every input and output typed (no Any), described, defaults stated,
secrets marked; inherited Args fields keep their descriptions; `overrides` is the defaults table;
the YAML example uses only what the schema declares, with the declared types."""

import copy
import inspect
import json
import re

import pytest
import yaml
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.util import camel_case

from skyrelay.components.async_jobs import SharedArgs
from skyrelay.provider.hosted import HOSTED
from tests.provider.loopback import ROOT

EXAMPLE = ROOT / "examples" / "yaml-consumer" / "Pulumi.yaml"
REFERENCE = re.compile(r"^\$\{(\w+)\.(\w+)(?:\.(\w+))?\}$")


def properties(schema: dict):
    """(where, name, property, is_input, required) for every property of every resource and type."""
    for token, res in schema["resources"].items():
        for name, prop in res["inputProperties"].items():
            yield f"{token} input", name, prop, True, name in res.get("requiredInputs", [])
        for name, prop in res["properties"].items():
            yield f"{token} output", name, prop, False, True
    for token, typ in schema["types"].items():
        for name, prop in typ["properties"].items():
            yield f"type {token}", name, prop, True, name in typ.get("required", [])


def test_every_property_has_a_type_and_a_description(served_schema):
    found = list(properties(served_schema))
    assert len(found) > 150
    assert [(w, n) for w, n, p, _, _ in found if not p.get("description")] == []
    assert [(w, n) for w, n, p, _, _ in found if not (p.get("type") or p.get("$ref"))] == []
    assert "pulumi.json#/Any" not in json.dumps(served_schema)


def test_every_optional_input_states_its_default(served_schema):
    optional = [(w, n, p) for w, n, p, is_input, required in properties(served_schema) if is_input and not required]
    assert optional
    assert [(w, n) for w, n, p in optional if "default" not in p["description"].lower()] == []
    required = [(w, n, p) for w, n, p, is_input, req in properties(served_schema) if is_input and req and "input" in w]
    assert {n for _, n, _ in required} >= {"budgetAmount", "costCenter"}
    assert [(w, n) for w, n, p in required if "required" not in p["description"].lower()] == []


def test_secret_inputs_are_marked_secret(served_schema):
    secret = {(token, name) for token, res in served_schema["resources"].items()
              for name, prop in res["inputProperties"].items() if prop.get("secret")}
    declared = {(h.token, camel_case(key)) for h in HOSTED for key in h.secret_inputs}
    assert secret == declared == {("skyrelay:aws:JobsApi", "routerConfig"), ("skyrelay:azure:JobsApi", "routerConfig"),
                                  ("skyrelay:gcp:JobsApi", "routerConfig")}


def shared_docstrings() -> dict[str, str]:
    """SharedArgs' attribute docstrings, read from its source."""
    lines = inspect.getsource(SharedArgs).splitlines()
    found = {}
    for i, line in enumerate(lines[:-1]):
        field = re.match(r"\s+(\w+): ", line)
        doc = re.match(r'\s+"""(.*)"""', lines[i + 1])
        if field and doc:
            found[field[1]] = doc[1]
    return found


def test_inherited_args_fields_keep_their_descriptions(served_schema):
    docs = shared_docstrings()
    assert set(docs) >= {"model_quota_rpm", "job_seconds_p50", "provider_secrets", "environment"}
    inputs = served_schema["resources"]["skyrelay:aws:AsyncJobs"]["inputProperties"]
    for key, doc in docs.items():
        if key != "overrides":  # typed and described by the provider (below)
            assert inputs[camel_case(key)]["description"] == doc
    # Control: the pinned SDK's analyzer alone leaves them undescribed.
    from skyrelay.components.aws import AsyncJobs

    bare = json.loads(ComponentProvider([AsyncJobs], "skyrelay", version="0.0.0").schema)
    assert "description" not in bare["resources"]["skyrelay:index:AsyncJobs"]["inputProperties"]["modelQuotaRpm"]


PY_TO_SCHEMA = {bool: "boolean", int: "integer", float: "number", str: "string", tuple: "array"}


@pytest.mark.parametrize("hosted", HOSTED, ids=lambda h: h.token)
def test_overrides_is_the_components_defaults_table(served_schema, hosted):
    ref = served_schema["resources"][hosted.token]["inputProperties"]["overrides"]["$ref"]
    assert ref == f"#/types/skyrelay:{hosted.cloud}:{hosted.component.__name__}Overrides"
    typ = served_schema["types"][ref.removeprefix("#/types/")]
    assert set(typ["properties"]) == {camel_case(k) for k in hosted.defaults}
    for key, default in hosted.defaults.items():
        prop = typ["properties"][camel_case(key)]
        assert prop["type"] == PY_TO_SCHEMA[type(default.value)]
        assert f"Default: `{json.dumps(default.value)}`" in prop["description"]
        assert ("secure default" in prop["description"]) == default.secure
    assert typ.get("required") is None  # every setting has its default


def test_tokens_are_namespaced_by_cloud(served_schema):
    tokens = [*served_schema["resources"], *served_schema["types"]]
    assert all(t.split(":")[1] in {"aws", "azure", "gcp"} for t in tokens)
    assert {"skyrelay:aws:CostGuard", "skyrelay:azure:CostGuard", "skyrelay:gcp:CostGuard"} <= set(tokens)
    refs = re.findall(r'"#/types/([^"]+)"', json.dumps(served_schema))
    assert refs and set(refs) <= set(served_schema["types"])
    tiers = served_schema["resources"]["skyrelay:aws:JobsApi"]["inputProperties"]["tiers"]
    assert tiers["items"]["$ref"] == "#/types/skyrelay:aws:TierLimits"


# ---- the YAML example against the served schema ----

def type_errors(schema: dict, value, prop: dict, where: str) -> list[str]:
    """Why `value` does not fit the schema property `prop` (empty when it does)."""
    ref = prop.get("$ref", "")
    if ref.startswith("#/types/"):
        typ = schema["types"][ref.removeprefix("#/types/")]
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {value!r}"]
        errors = [f"{where}.{k}: not a property of {ref}" for k in value if k not in typ["properties"]]
        missing = [f"{where}.{k}: required" for k in typ.get("required", []) if k not in value]
        return errors + missing + [e for k, v in value.items() if k in typ["properties"]
                                   for e in type_errors(schema, v, typ["properties"][k], f"{where}.{k}")]
    kind = prop.get("type")
    checks = {
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    if not checks[kind](value):
        return [f"{where}: expected {kind}, got {value!r}"]
    if kind == "array":
        return [e for i, v in enumerate(value) for e in type_errors(schema, v, prop["items"], f"{where}[{i}]")]
    if kind == "object":
        values = prop.get("additionalProperties", {"type": "string"})
        return [e for k, v in value.items() for e in type_errors(schema, v, values, f"{where}.{k}")]
    return []


def reference_errors(schema: dict, resources: dict, text: str, where: str, before: list[str]) -> list[str]:
    """`${resource.output[.attribute]}`: the resource is declared earlier, the output is one of its
    type's outputs, and an attribute is read only from an output that is a resource."""
    name, output, attribute = REFERENCE.match(text).groups()
    if name not in before:
        return [f"{where}: {name} is not declared before it"]
    outputs = schema["resources"][resources[name]["type"]]["properties"]
    if output not in outputs:
        return [f"{where}: {resources[name]['type']} has no output {output!r}"]
    if attribute and "/schema.json#/resources/" not in outputs[output].get("$ref", ""):
        return [f"{where}: {output} is not a resource, it has no {attribute!r}"]
    return []


def yaml_errors(schema: dict, program: dict) -> list[str]:
    errors, before = [], []
    resources = program["resources"]
    for name, spec in resources.items():
        res = schema["resources"].get(spec["type"])
        if res is None:
            errors.append(f"{name}: the package has no {spec['type']}")
            continue
        props = spec.get("properties", {})
        errors += [f"{name}.{k}: required" for k in res.get("requiredInputs", []) if k not in props]
        for key, value in props.items():
            where = f"{name}.{key}"
            if key not in res["inputProperties"]:
                errors.append(f"{where}: not an input of {spec['type']}")
            elif isinstance(value, str) and REFERENCE.match(value):
                errors += reference_errors(schema, resources, value, where, before)
            else:
                errors += type_errors(schema, value, res["inputProperties"][key], where)
        before.append(name)
    for key, value in program.get("outputs", {}).items():
        errors += reference_errors(schema, resources, value, f"outputs.{key}", before)
    return errors


def test_yaml_example_uses_only_declared_properties_with_their_types(served_schema):
    program = yaml.safe_load(EXAMPLE.read_text())
    assert {spec["type"] for spec in program["resources"].values()} == {"skyrelay:aws:AsyncJobs", "skyrelay:aws:CostGuard"}
    assert yaml_errors(served_schema, program) == []


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda p: p["resources"]["jobs"]["properties"].update(workerTimeoutSecs=300), "jobs.workerTimeoutSecs: not an input"),
        (lambda p: p["resources"]["jobs"]["properties"].update(workerTimeoutSeconds="300"), "expected integer"),
        (lambda p: p["resources"]["jobs"]["properties"]["overrides"].update(maxRecieveCount=3), "not a property"),
        (lambda p: p["resources"]["guard"]["properties"].pop("budgetAmount"), "guard.budgetAmount: required"),
        (lambda p: p["outputs"].update(x="${jobs.queueUrl}"), "has no output 'queueUrl'"),
    ],
    ids=["unknown-input", "wrong-type", "unknown-override", "missing-required", "unknown-output"],
)
def test_the_yaml_check_catches_a_broken_example(served_schema, mutate, error):
    program = copy.deepcopy(yaml.safe_load(EXAMPLE.read_text()))
    mutate(program)
    assert any(error in e for e in yaml_errors(served_schema, program))
