"""The stack program: validate the stack's config, apply the tagging policy, deploy the blueprint.

`stacks/__main__.py` calls `run()`. Validation runs before any resource is registered, so a bad
key fails `pulumi up` and `skyrelay plan` alike, naming the key.
"""

import importlib
import json

import pulumi

from skyrelay.components.tagging import apply_tagging_policy
from skyrelay.config import NAMESPACE, StackConfig, parse_stack_config


def raw_config() -> dict:
    """All `ns:key` config values of this stack, JSON objects decoded (the engine passes strings).

    The SDK has no public call to list config keys; we read its config map so that an unknown
    `skyrelay:` key (a typo) is reported instead of silently ignored.
    """
    from pulumi.runtime.config import CONFIG

    raw = {}
    for key, value in CONFIG.get().items():
        try:
            raw[key] = json.loads(value)
        except (TypeError, ValueError):
            raw[key] = value
    return raw


def stack_config() -> StackConfig:
    return parse_stack_config(raw_config(), f"Pulumi.{pulumi.get_stack()}.yaml")


def run() -> None:
    config = stack_config()
    apply_tagging_policy(config.tags.as_dict())
    blueprint = importlib.import_module(f"skyrelay.blueprints.{config.cloud}")
    outputs = blueprint.deploy(config)
    for key, value in outputs.items():
        pulumi.export(key, value)
    pulumi.export("namespace", NAMESPACE)
