"""The tier table: Free, Developer, Professional, Enterprise.

Loaded from data/tiers.yaml so there is one place to change a number. Everything that enforces a
tier (edge quotas, the runtime limiter, max_tokens checks, the policy pack, docs) reads `TIERS`.
"""

import json
from enum import StrEnum
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from skyrelay.errors import ConfigError, first_error


class TierName(StrEnum):
    FREE = "free"
    DEVELOPER = "developer"
    PROFESSIONAL = "professional"
    ENTERPRISE = "enterprise"


class ModelClass(StrEnum):
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"
    DEDICATED = "dedicated"


class Tier(BaseModel):
    """Limits for one tier. `custom` marks values a contract is expected to override."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: TierName
    rpm: int = Field(gt=0, description="requests per minute per tenant")
    tpm: int = Field(gt=0, description="tokens per minute per tenant (prompt + completion)")
    max_concurrent_streams: int = Field(gt=0)
    max_tokens_cap: int = Field(gt=0, description="largest max_tokens a request may ask for")
    model_classes: tuple[ModelClass, ...] = Field(min_length=1)
    monthly_request_quota: int = Field(gt=0, description="edge quota per API key per month")
    custom: bool = False

    def allows(self, model_class: ModelClass | str) -> bool:
        return ModelClass(model_class) in self.model_classes


class TierOverride(BaseModel):
    """Per-stack changes to a tier (Enterprise contracts); unset fields keep the table value."""

    model_config = ConfigDict(extra="forbid")

    rpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)
    max_concurrent_streams: int | None = Field(default=None, gt=0)
    max_tokens_cap: int | None = Field(default=None, gt=0)
    model_classes: tuple[ModelClass, ...] | None = None
    monthly_request_quota: int | None = Field(default=None, gt=0)


def parse_tiers(raw: dict, source: str = "tiers.yaml") -> dict[TierName, Tier]:
    tiers = {}
    for name, values in raw.items():
        try:
            tier_name = TierName(name)
        except ValueError:
            raise ConfigError(name, f"unknown tier; expected one of {[t.value for t in TierName]}", source) from None
        try:
            tiers[tier_name] = Tier(name=tier_name, **values)
        except ValidationError as exc:
            raise first_error(exc, f"{name}.", source) from None
    missing = set(TierName) - set(tiers)
    if missing:
        raise ConfigError(sorted(missing)[0], "tier missing from the table", source)
    return tiers


DATA = Path(__file__).parent / "data"
# The Lambda zip ships the table pre-parsed beside the YAML (components/aws/packaging.py): the
# worker's cold start then skips importing and running a YAML parser (~18 ms of ~250).
PREPARSED = DATA / "tiers.json"


@cache
def default_tiers() -> dict[TierName, Tier]:
    if PREPARSED.is_file():
        return parse_tiers(json.loads(PREPARSED.read_text()), "tiers.json")
    import yaml

    return parse_tiers(yaml.safe_load((DATA / "tiers.yaml").read_text()))


def apply_overrides(
    tiers: dict[TierName, Tier], overrides: dict[TierName, TierOverride]
) -> dict[TierName, Tier]:
    """Returns a new table with each override's set fields replacing the table's values."""
    merged = dict(tiers)
    for name, override in overrides.items():
        merged[name] = tiers[name].model_copy(update=override.model_dump(exclude_none=True))
    return merged
