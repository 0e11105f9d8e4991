"""The pack's config schema, and readers that apply the defaults.

Config is per policy, as `pulumi preview --policy-pack-config FILE` passes it:

    {"all": "mandatory",
     "tags-required": {"requiredKeys": ["cost-center", "environment", "team", "owner"]},
     "stack-tier-max-tokens-cap": {"maxTokensCaps": {"enterprise": 65536}},
     "aws-lambda-reserved-concurrency": {"enforcementLevel": "advisory", "exemptions": ["::legacy-.*$"]}}

Every policy takes `exemptions`: regular expressions searched in a resource's URN; a matching
resource is not judged by that policy. Defaults come from skyrelay core (tag keys, tier table), so
the pack and the stacks cannot disagree unless someone configures them to.
"""

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from pulumi_policy import PolicyConfigSchema

from skyrelay.tags import REQUIRED_TAG_KEYS
from skyrelay.tiers import default_tiers

EXEMPTIONS = "exemptions"


def default_max_tokens_caps() -> dict[str, int]:
    return {name.value: tier.max_tokens_cap for name, tier in default_tiers().items()}


DEFAULT_BUDGET_THRESHOLDS = (50, 80, 100)

SCHEMA: dict[str, dict[str, Any]] = {
    EXEMPTIONS: {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "regular expressions searched in resource URNs; matching resources are exempt",
    },
    "requiredKeys": {
        "type": "array",
        "items": {"type": "string"},
        "default": list(REQUIRED_TAG_KEYS),
        "description": "tag (label) keys every taggable resource must carry",
    },
    "maxTokensCaps": {
        "type": "object",
        "additionalProperties": {"type": "integer", "minimum": 1},
        "default": default_max_tokens_caps(),
        "description": "largest max_tokens cap a stack may configure, per tier",
    },
    "budgetThresholds": {
        "type": "array",
        "items": {"type": "number"},
        "default": list(DEFAULT_BUDGET_THRESHOLDS),
        "description": "actual-spend alert thresholds (percent) every budget must have",
    },
    "minVisibilityMultiple": {
        "type": "number",
        "default": 6,
        "description": "queue visibility timeout must be at least this multiple of the consuming Lambda's timeout",
    },
    "maxIntegrationTimeoutMs": {
        "type": "integer",
        "default": 29000,
        "description": "largest synchronous API Gateway integration timeout",
    },
    "deprecatedRuntimes": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Lambda runtimes to refuse (replaces the built-in list)",
    },
}


def schema_for(names: Iterable[str]) -> PolicyConfigSchema:
    return PolicyConfigSchema(properties={k: SCHEMA[k] for k in (EXEMPTIONS, *names)})


@lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern, ...]:
    return tuple(re.compile(p) for p in patterns)


def is_exempt(urn: str, config: Mapping[str, Any] | None) -> bool:
    patterns = (config or {}).get(EXEMPTIONS) or ()
    return any(p.search(urn) for p in _compiled(tuple(patterns)))


def value(config: Mapping[str, Any] | None, name: str) -> Any:
    """The configured value of `name`, or the schema default."""
    config = config or {}
    if name in config and config[name] is not None:
        return config[name]
    default = SCHEMA[name].get("default")
    return dict(default) if isinstance(default, dict) else default
