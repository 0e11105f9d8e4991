"""The tagging policy: which tags every resource carries, and which values all three clouds accept.

GCP labels are the strictest of the three (lowercase letters, digits, `_` and `-`, at most 63
characters, keys start with a letter), so a value valid here is valid on AWS and Azure too.
"""

import json
import re
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field, field_validator

REQUIRED_TAG_KEYS: tuple[str, ...] = ("cost-center", "environment", "team")

_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{1,63}$")


def check_label_key(key: str) -> str:
    if not _LABEL_KEY.match(key):
        raise ValueError(
            f"tag key {key!r} is not valid on every cloud: use 1-63 lowercase letters, digits, '_' or '-', "
            "starting with a letter (GCP label rules)"
        )
    return key


def check_label_value(value: str) -> str:
    if not isinstance(value, str) or not _LABEL_VALUE.match(value):
        raise ValueError(
            f"tag value {value!r} is not valid on every cloud: use 1-63 lowercase letters, digits, '_' or '-' "
            "(GCP label rules)"
        )
    return value


class TagSet(BaseModel):
    """The required tags plus any extra ones, validated against all three clouds' rules."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    cost_center: str = Field(alias="cost-center")
    environment: str
    team: str
    extra: dict[str, str] = Field(default_factory=dict)

    @field_validator("cost_center", "environment", "team")
    @classmethod
    def _value(cls, v: str) -> str:
        return check_label_value(v)

    @field_validator("extra")
    @classmethod
    def _extra(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            check_label_key(key)
            check_label_value(value)
            if key in REQUIRED_TAG_KEYS:
                raise ValueError(f"{key!r} is a required tag; set it at the top level, not under extra")
        return v

    def as_dict(self) -> dict[str, str]:
        """The tags as the clouds see them: required keys first, then extras."""
        return {
            "cost-center": self.cost_center,
            "environment": self.environment,
            "team": self.team,
            **self.extra,
        }


@cache
def _taggable() -> dict[str, tuple[str, frozenset[str]]]:
    data = json.loads(resources.files("skyrelay").joinpath("data/taggable.json").read_text())
    return {p: (v["property"], frozenset(v["types"])) for p, v in data["providers"].items()}


def taggable_property(type_token: str) -> str | None:
    """The property that carries tags for a resource type (`tags`, or `labels` on GCP), or None.

    Read from data/taggable.json, generated from the pinned provider SDKs by scripts/gen_taggable.py.
    """
    provider = type_token.split(":", 1)[0]
    entry = _taggable().get(provider)
    if entry and type_token in entry[1]:
        return entry[0]
    return None
