"""The provider the plugin serves: GetSchema answers the inferred schema (inference.py), Construct
builds the hosted Python component from the engine's inputs (inputs.py) and returns its outputs.

A component's `ConfigError` (bad input, named as in Python) becomes the engine's input-property
error: the message is the component's own, and the property path is the input as the consumer
wrote it (`workerTimeoutSeconds`), so the engine points at the line in their program.
"""

from importlib.metadata import version as distribution_version
from typing import Any

import pulumi
from pulumi.errors import InputPropertiesError
from pulumi.provider import ConstructResult, Provider
from pulumi.provider.server import ComponentInitError

from skyrelay.errors import ConfigError
from skyrelay.provider.inference import Package, infer, schema_json
from skyrelay.provider.inputs import schema_path, to_args


def package_version() -> str:
    """The plugin's version is the skyrelay distribution's (pyproject.toml)."""
    return distribution_version("skyrelay")


class SkyrelayProvider(Provider):
    def __init__(self, version: str | None = None):
        version = version or package_version()
        self.package: Package = infer(version)
        super().__init__(version, schema_json(self.package))

    def construct(
        self, name: str, resource_type: str, inputs: dict[str, Any], options: pulumi.ResourceOptions | None = None
    ) -> ConstructResult:
        hosted = self.package.components.get(resource_type)
        if hosted is None:
            raise ValueError(f"unknown component type {resource_type!r}; hosted: {', '.join(self.package.components)}")
        try:
            component = hosted.hosted.component(name, to_args(self.package, resource_type, inputs), options)
        except ConfigError as err:
            raise InputPropertiesError(str(err), [{"property_path": schema_path(err.key), "reason": str(err)}]) from err
        except Exception as err:  # the component's own failure: the SDK reports it with its traceback
            raise ComponentInitError(err) from err
        definition = hosted.definition
        state = {}
        for key, py_name in definition.outputs_mapping.items():
            value = getattr(component, py_name, None)
            if value is not None:
                state[key] = value
        return ConstructResult(component.urn, state)
