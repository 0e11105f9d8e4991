"""The YAML example (examples/yaml-consumer/Pulumi.yaml) as a Python program: the same components,
in the same order, with the same inputs under their Python names. `skyrelay plan` renders it; the
provider tests compare what Construct registers for the YAML's inputs with that render.

It reads the YAML itself, so the two cannot drift: property names become snake_case, and so do the
`overrides` keys (the defaults table's); other maps (`environment`) keep their keys. A
`${resource.output.attribute}` reference reads that attribute of the component created before.
"""

import re
from pathlib import Path

import yaml

from skyrelay.components import aws

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "yaml-consumer" / "Pulumi.yaml"
CLASSES = {"skyrelay:aws:CostGuard": aws.CostGuard, "skyrelay:aws:AsyncJobs": aws.AsyncJobs}
REFERENCE = re.compile(r"^\$\{(\w+)\.(\w+)\.(\w+)\}$")


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def python_value(key: str, value, created: dict):
    if isinstance(value, str) and (ref := REFERENCE.match(value)):
        resource, output, attribute = ref.groups()
        return getattr(getattr(created[resource], snake(output)), snake(attribute))
    if key == "overrides":
        return {snake(k): v for k, v in value.items()}
    return value


created: dict = {}
for name, spec in yaml.safe_load(EXAMPLE.read_text())["resources"].items():
    args = {snake(k): python_value(k, v, created) for k, v in spec.get("properties", {}).items()}
    created[name] = CLASSES[spec["type"]](name, args)
