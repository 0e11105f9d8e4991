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

from skyrelay import deployment
from skyrelay.errors import ConfigError, first_error
from skyrelay.tags import TagSet
from skyrelay.tiers import Tier, TierName, TierOverride, apply_overrides, default_tiers

NAMESPACE = "skyrelay"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _second_region(v: str | None, info: ValidationInfo, word: str) -> str | None:
    """failoverRegion: a second region (AWS) or location (GCP), never the stack's own."""
    if v is not None and v == info.data.get("region"):
        raise ValueError(f"must differ from region: failover needs a second {word}")
    return v


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
    failover_region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$",
                                        description="a second Bedrock region per model (failover)")
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

    @field_validator("failover_region")
    @classmethod
    def _failover_region(cls, v: str | None, info: ValidationInfo) -> str | None:
        return _second_region(v, info, "region")

    @field_validator("log_retention_days")
    @classmethod
    def _log_retention(cls, v: int) -> int:
        if v not in LOG_RETENTION_DAYS:
            raise ValueError(f"CloudWatch accepts only {', '.join(map(str, LOG_RETENTION_DAYS))}")
        return v


# Azure regions (the `name` of `az account list-locations`, public cloud) the stack may name.
AZURE_LOCATIONS = (
    "australiaeast", "australiasoutheast", "brazilsouth", "canadacentral", "canadaeast", "centralindia", "centralus",
    "eastasia", "eastus", "eastus2", "francecentral", "germanywestcentral", "italynorth", "japaneast", "japanwest",
    "koreacentral", "northcentralus", "northeurope", "norwayeast", "polandcentral", "southafricanorth",
    "southcentralus", "southeastasia", "southindia", "spaincentral", "swedencentral", "switzerlandnorth",
    "uaenorth", "uksouth", "ukwest", "westcentralus", "westeurope", "westus", "westus2", "westus3",
)
AZURE_MAX_RENEWAL_S = 3600  # lock renewal (worker timeout + lock) a Flex run can hold (components/azure)


class AzureJwt(_Model):
    openid_config_url: str = Field(pattern=r"^https://")
    audience: str = Field(min_length=1)
    issuer: str | None = None


class AzureSettings(_Model):
    """`skyrelay:azure`: the Azure blueprint's knobs. Cross-field rules name the dependent key."""

    resource_group: str = Field(min_length=1, max_length=90)
    location: str = Field(default="westeurope", description="an Azure region name, e.g. westeurope")
    subscription_id: str | None = Field(default=None, pattern=r"^[0-9a-f-]{36}$")
    lock_duration_seconds: int = Field(default=60, ge=5, le=300, description="Service Bus message lock (max PT5M)")
    worker_timeout_seconds: int = Field(default=120, ge=1, description="longest job run; with the lock, the renewal")
    model_quota_rpm: int = Field(default=600, gt=0, description="provider model quota the workers share (RPM)")
    job_seconds_p50: float = Field(default=10, gt=0, le=3600, description="typical job duration, sizes concurrency")
    max_receive_count: int = Field(default=5, ge=1, le=2000, description="deliveries before the DLQ")
    log_retention_days: int = Field(default=30, ge=30, le=730, description="Log Analytics retention (30-730)")
    always_ready: int = Field(default=0, ge=0, le=20, description="warm instances (HTTP + interactive trigger)")
    servicebus_sku: Literal["Standard", "Premium"] = "Standard"
    apim_sku: Literal["Consumption", "Developer", "Basic", "Standard", "Premium", "BasicV2", "StandardV2"] = "Consumption"
    max_body_bytes: int = Field(default=1048576, ge=1024, le=4194304, description="largest request body at the edge")
    publisher_email: str = Field(default="platform@example.com", description="API Management's publisher contact")
    provider_secrets: tuple[str, ...] = Field(default=(), description="names of provider API key secrets")
    jwt: AzureJwt | None = None
    openai_account: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{1,62}$",
                                       description="create this Azure OpenAI account (custom subdomain) and its "
                                                   "deployments; default: none (the router config names none)")
    batch: bool = Field(default=True, description="the batch container and, with openaiAccount, a GlobalBatch deployment")

    @field_validator("location")
    @classmethod
    def _location(cls, v: str) -> str:
        if v not in AZURE_LOCATIONS:
            raise ValueError(f"{v!r} is not an Azure region name (e.g. westeurope, eastus2)")
        return v

    @field_validator("worker_timeout_seconds")
    @classmethod
    def _worker_timeout(cls, v: int, info: ValidationInfo) -> int:
        lock = info.data.get("lock_duration_seconds")
        if lock is not None and v + lock > AZURE_MAX_RENEWAL_S:
            raise ValueError(f"{v} s plus the {lock} s lock (lockDurationSeconds) needs a lock renewal of {v + lock} s; "
                             f"at most {AZURE_MAX_RENEWAL_S} s fits a Flex Consumption run")
        return v

    @field_validator("publisher_email")
    @classmethod
    def _publisher(cls, v: str) -> str:
        if not _EMAIL.match(v):
            raise ValueError(f"{v!r} is not an email address")
        return v


# Regions where every service of the GCP blueprint exists: API Gateway is the narrowest (its
# locations list); Cloud Run, Cloud Tasks and Cloud Scheduler cover all of these.
GCP_REGIONS = ("asia-east1", "asia-northeast1", "australia-southeast1", "europe-west1", "europe-west2",
               "us-central1", "us-east1", "us-east4", "us-west2", "us-west3", "us-west4")


class GcpSettings(_Model):
    """`skyrelay:gcp`: the GCP blueprint's knobs (stacks/Pulumi.gcp-dev.yaml documents each)."""

    project: str = Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
    region: str = Field(default="europe-west1", pattern=r"^[a-z]+-[a-z]+\d$")
    failover_region: str | None = Field(default=None, pattern=r"^[a-z]+-[a-z]+\d$",
                                        description="a second Vertex location per model (failover)")
    billing_account: str = Field(pattern=r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")
    firestore_location: str | None = Field(default=None, pattern=r"^[a-z0-9-]+$", description="default: region")
    worker_timeout_seconds: int = Field(default=300, ge=1, description="worker request timeout; its dispatch deadline must fit 30 min")
    worker_concurrency: int = Field(default=8, ge=1, le=1000)
    worker_min_instances: int = Field(default=0, ge=0, le=100, description="the warm pool")
    api_timeout_seconds: int = Field(default=60, ge=1, le=3600)
    max_receive_count: int = Field(default=5, ge=1, le=100, description="Cloud Tasks max_attempts")
    model_quota_rpm: int = Field(default=600, gt=0, description="provider model quota the workers share (RPM)")
    job_seconds_p50: float = Field(default=10, gt=0, le=1770, description="typical job duration, sizes concurrency")
    provider_secrets: tuple[str, ...] = Field(default=(), description="names of provider API key secrets")
    image: str | None = Field(default=None, min_length=1, description="a prebuilt runtime image instead of the source build")
    jwt_issuer: str | None = Field(default=None, pattern=r"^https://")
    jwt_jwks_uri: str | None = Field(default=None, pattern=r"^https://")
    alarm_oldest_message_seconds: int = Field(default=600, gt=0)

    @field_validator("failover_region")
    @classmethod
    def _failover_region(cls, v: str | None, info: ValidationInfo) -> str | None:
        return _second_region(v, info, "location")

    @field_validator("region")
    @classmethod
    def _region(cls, v: str) -> str:
        if v not in GCP_REGIONS:
            raise ValueError(f"unknown or unsupported region {v!r}: API Gateway runs in {', '.join(GCP_REGIONS)}")
        return v

    @field_validator("worker_timeout_seconds")
    @classmethod
    def _worker_timeout(cls, v: int) -> int:
        deployment.dispatch_deadline(v)  # ValueError: the deadline would pass Cloud Tasks' 30 minutes
        return v


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
    if config.gcp is not None and config.gcp.jwt_issuer and not config.gcp.jwt_jwks_uri:
        raise ConfigError(f"{NAMESPACE}:gcp.jwtJwksUri", "required with jwtIssuer (the issuer's signing keys)", source)
    return config


def load_stack_config(path: str | Path) -> StackConfig:
    return parse_stack_config(read_stack_file(path), str(path))
