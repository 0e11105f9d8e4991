"""The policy pack's config (`--policy-pack-config FILE`): decoding and validating it."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel

from skyrelay.errors import ConfigError

LEVELS = {level.value: level for level in EnforcementLevel}


@dataclass
class PolicyConfig:
    """What `pulumi preview --policy-pack-config FILE` carries: a level and properties per policy."""

    levels: dict[str, EnforcementLevel] = field(default_factory=dict)
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)


def parse_policy_config(raw: Any, source: str = "policy config") -> PolicyConfig:
    """Validates the JSON of --policy-pack-config; errors name the policy and key."""
    from skyrelay.policies.config import SCHEMA
    from skyrelay.policies.registry import rules

    known = rules()
    if not isinstance(raw, dict):
        raise ConfigError("policy-config", "must be a JSON object of policy name -> level or settings", source)
    out = PolicyConfig()
    for name, value in raw.items():
        if name != "all" and name not in known:
            raise ConfigError(name, f"unknown policy; known: all, {', '.join(known)}", source)
        if isinstance(value, str):
            value = {"enforcementLevel": value}
        if not isinstance(value, dict):
            raise ConfigError(name, "must be an enforcement level or an object", source)
        level = value.get("enforcementLevel")
        if level is not None:
            if level not in LEVELS:
                raise ConfigError(f"{name}.enforcementLevel", f"must be one of {', '.join(LEVELS)}", source)
            out.levels[name] = LEVELS[level]
        props = {k: v for k, v in value.items() if k != "enforcementLevel"}
        if name == "all" and props:
            raise ConfigError("all", "takes only an enforcement level", source)
        allowed = {"exemptions", *known[name].config} if name != "all" else set()
        for key, val in props.items():
            if key not in allowed:
                raise ConfigError(f"{name}.{key}", f"unknown setting; allowed: {', '.join(sorted(allowed))}", source)
            _check_type(f"{name}.{key}", val, SCHEMA[key], source)
        if props:
            out.properties[name] = props
    return out


def _check_type(key: str, value: Any, schema: dict, source: str) -> None:
    import re

    kind = schema.get("type")
    ok = {"array": list, "object": dict, "integer": int, "number": (int, float), "string": str}[kind]
    if not isinstance(value, ok) or isinstance(value, bool):
        raise ConfigError(key, f"must be a JSON {kind}", source)
    if key.endswith(".exemptions"):
        for pattern in value:
            try:
                re.compile(pattern)
            except (re.error, TypeError) as exc:
                raise ConfigError(key, f"{pattern!r} is not a regular expression: {exc}", source) from None


def load_policy_config(path: str | Path | None) -> PolicyConfig:
    if path is None:
        return PolicyConfig()
    path = Path(path)
    if not path.is_file():
        raise ConfigError("policy-config", f"{path} does not exist", str(path))
    try:
        raw = json.loads(path.read_text())
    except ValueError as exc:
        raise ConfigError("policy-config", f"malformed JSON: {exc}", str(path)) from None
    return parse_policy_config(raw, str(path))
