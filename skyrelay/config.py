"""The stack config model, read from `stacks/Pulumi.<stack>.yaml`.

Every setting lives under the `skyrelay:` namespace. Validation happens before the Pulumi program
registers anything, and each error names the key as the user wrote it (`skyrelay:budget.amount`).
"""

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from skyrelay.errors import ConfigError, first_error
from skyrelay.tags import TagSet
from skyrelay.tiers import Tier, TierName, TierOverride, apply_overrides, default_tiers

NAMESPACE = "skyrelay"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


class BudgetConfig(_Model):
    """Monthly budget with percentage alerts, and the anomaly alert threshold in currency units."""

    amount: float = Field(gt=0, description="monthly budget in `currency`")
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    emails: tuple[str, ...] = Field(default=(), description="addresses that get budget and anomaly alerts")
    alert_thresholds: tuple[int, ...] = Field(default=(50, 80, 100), min_length=1)
    forecast_threshold: int = Field(default=100, gt=0)
    anomaly_threshold: float = Field(default=100, gt=0, description="alert on anomalies with impact >= this")

    @field_validator("emails")
    @classmethod
    def _emails(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for address in v:
            if not _EMAIL.match(address):
                raise ValueError(f"{address!r} is not an email address")
        return v

    @field_validator("alert_thresholds")
    @classmethod
    def _thresholds(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(t <= 0 for t in v):
            raise ValueError("thresholds are percentages above 0")
        return tuple(sorted(set(v)))


# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


class WarmPoolSettings(_Model):
    """One function's warm pool (components/aws/warm_pool.py): provisioned concurrency on its `live` alias."""

    provisioned: int = Field(default=0, ge=0, description="provisioned concurrent executions (0: on demand only)")
    autoscaling_max: int | None = Field(default=None, ge=1, description="scale provisioned concurrency up to this")
    target_utilization: float = Field(default=0.7, gt=0, le=0.9, description="target-tracking utilization")


class WarmPools(_Model):
    """`skyrelay:aws.warmPool`: the knob the Azure (Flex alwaysReady) and GCP (min instances) blueprints share."""

    worker: WarmPoolSettings = WarmPoolSettings()
    api: WarmPoolSettings = WarmPoolSettings()


class DedicatedCapacity(_Model):
    """`skyrelay:aws.dedicatedCapacity`: a Bedrock Provisioned Throughput model for one logical model,
    pinned to the listed tenants (docs/readiness.md)."""

    model: str = Field(min_length=1, description="the logical model it serves (fast, quality)")
    model_arn: str = Field(pattern=r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:provisioned-model/",
                           description="the provisioned model's ARN (Bedrock Provisioned Throughput)")
    tenants: tuple[str, ...] = Field(default=("enterprise",), min_length=1, description="tenants pinned to it")


class AwsSettings(_Model):
    """`skyrelay:aws`: the AWS blueprint's knobs. Cross-field rules name the dependent key."""

    region: str = Field(default="us-east-1", pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    worker_timeout_seconds: int = Field(default=120, ge=1, le=900, description="worker Lambda timeout (max 900)")
    worker_memory_mb: int = Field(default=1024, ge=128, le=10240)
    api_timeout_seconds: int = Field(default=29, ge=1, le=29, description="API Lambda timeout (REST API max 29)")
    api_memory_mb: int = Field(default=512, ge=128, le=10240)
    batching_window_seconds: int = Field(default=5, ge=0, le=300, description="batch queue batching window")
    queue_retention_seconds: int = Field(default=345600, ge=60, le=1209600, description="job queue retention")
    max_receive_count: int = Field(default=5, ge=1, le=1000, description="deliveries before the DLQ")
    model_quota_rpm: int = Field(default=600, gt=0, description="provider model quota the workers share (RPM)")
    job_seconds_p50: float = Field(default=10, gt=0, le=900, description="typical job duration, sizes concurrency")
    worker_reserved_concurrency: int = Field(default=100, ge=2, le=1000)
    log_retention_days: int = Field(default=30)
    kms_key_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:kms:")
    provider_secrets: tuple[str, ...] = Field(default=(), description="names of provider API key secrets")
    jwt_authorizer: bool = Field(default=False, description="Cognito JWT authorizer (15-minute tokens)")
    stage_rate_limit: float = Field(default=100, gt=0, description="stage-wide steady requests per second")
    stage_burst_limit: int = Field(default=200, gt=0)
    max_body_bytes: int = Field(default=65536, ge=1024, le=65536, description="largest request body (WAF limit)")
    alarm_oldest_message_seconds: int = Field(default=600, gt=0)
    warm_pool: WarmPools = WarmPools()
    keep_alive: tuple[str, ...] = Field(default=(), description="router deployments pinged every 5 minutes")
    dedicated_capacity: DedicatedCapacity | None = None

    @field_validator("queue_retention_seconds")
    @classmethod
    def _retention(cls, v: int, info: ValidationInfo) -> int:
        timeout = info.data.get("worker_timeout_seconds")
        if timeout is not None and v < timeout:
            raise ValueError(f"must be at least workerTimeoutSeconds ({timeout}), or messages expire mid-run")
        return v

    @field_validator("log_retention_days")
    @classmethod
    def _log_retention(cls, v: int) -> int:
        if v not in LOG_RETENTION_DAYS:
            raise ValueError(f"CloudWatch accepts only {', '.join(map(str, LOG_RETENTION_DAYS))}")
        return v


class AzureSettings(_Model):
    resource_group: str = Field(min_length=1, max_length=90)
    location: str = Field(default="westeurope", pattern=r"^[a-z0-9]+$")
    subscription_id: str | None = Field(default=None, pattern=r"^[0-9a-f-]{36}$")


class GcpSettings(_Model):
    project: str = Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
    region: str = Field(default="europe-west1", pattern=r"^[a-z]+-[a-z]+\d$")
    billing_account: str = Field(pattern=r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")


class StackConfig(_Model):
    """Everything a skyrelay stack reads from its config file."""

    cloud: Literal["aws", "azure", "gcp"]
    tags: TagSet
    budget: BudgetConfig
    tiers: tuple[TierName, ...] = Field(default=tuple(TierName), min_length=1)
    tier_overrides: dict[TierName, TierOverride] = Field(default_factory=dict)
    aws: AwsSettings | None = None
    azure: AzureSettings | None = None
    gcp: GcpSettings | None = None

    def tier_table(self) -> dict[TierName, Tier]:
        """The tiers this stack offers, with its overrides applied."""
        table = apply_overrides(default_tiers(), self.tier_overrides)
        return {name: table[name] for name in self.tiers}


def read_stack_file(path: str | Path) -> dict:
    """The raw `config:` mapping of a Pulumi stack file. Raises ConfigError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("stack", f"stack file {path} does not exist", str(path))
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError("config", f"malformed YAML{where}: {getattr(exc, 'problem', exc)}", str(path)) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}), dict):
        raise ConfigError("config", "a stack file is a mapping with a `config:` mapping inside", str(path))
    return doc.get("config") or {}


def parse_stack_config(raw: dict, source: str | None = None) -> StackConfig:
    """Validates the `skyrelay:*` keys of a raw Pulumi config mapping."""
    ours = {}
    for key, value in raw.items():
        namespace, _, name = str(key).partition(":")
        if namespace == NAMESPACE:
            ours[name] = value
    if "tags" in ours and isinstance(ours["tags"], dict):
        required = {"cost-center", "environment", "team"} - set(ours["tags"])
        if required:
            raise ConfigError(f"{NAMESPACE}:tags.{sorted(required)[0]}", "required tag is missing", source)
    try:
        config = StackConfig.model_validate(ours)
    except ValidationError as exc:
        raise first_error(exc, f"{NAMESPACE}:", source) from None
    if config.cloud != "aws" and getattr(config, config.cloud) is None:
        raise ConfigError(f"{NAMESPACE}:{config.cloud}", f"required when cloud is {config.cloud!r}", source)
    return config


def load_stack_config(path: str | Path) -> StackConfig:
    return parse_stack_config(read_stack_file(path), str(path))
