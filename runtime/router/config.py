"""The router configuration: deployments, logical models, tenants, limits, cache, timeouts, breaker, retry.

Loaded once from YAML and validated by pydantic; every error names the key as the user wrote it
(`deployments[1].price.input`). Nothing here runs on the request path: the router turns this into
plain objects at start-up.
"""

import hashlib
import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from skyrelay.errors import ConfigError
from skyrelay.runtime.providers.base import ProviderKind, Upstream
from skyrelay.runtime.router.fallback import FallbackResponse
from skyrelay.tiers import ModelClass, Tier, TierName, TierOverride, apply_overrides, default_tiers

# fast/quality/cheap: tags the preference header sorts by. tools, json_schema, vision, embeddings: what the
# deployment can serve (runtime/router/capabilities.py routes by them; a request needing one never goes
# to a deployment that does not declare it). The maximum context is `context_window`.
Capability = Literal["fast", "quality", "cheap", "tools", "json_schema", "vision", "embeddings"]
Strategy = Literal["priority", "weighted", "latency"]
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Price(_M):
    """Price per 1,000 tokens, in the account currency."""

    input: float = Field(default=0.0, ge=0)
    output: float = Field(default=0.0, ge=0)
    cache_read: float | None = Field(default=None, ge=0, description="defaults to `input`")
    cache_write: float | None = Field(default=None, ge=0, description="defaults to `input`")
    batch_input: float | None = Field(default=None, ge=0, description="provider batch jobs; defaults to the "
                                      "provider's documented batch discount of `input` (docs/batch.md)")
    batch_output: float | None = Field(default=None, ge=0, description="provider batch jobs; defaults like batch_input")

    def for_batch(self, provider: str) -> "Price":
        """The price of a line answered by a provider batch job: `batch_input` / `batch_output` when set,
        else BATCH_DISCOUNT of on-demand (cache reads and writes discounted alike, except on Vertex,
        where the batch discount does not stack with the cache discount: a cache read costs batch input)."""
        factor = BATCH_DISCOUNT.get(provider, 1.0)
        inp = self.input * factor if self.batch_input is None else self.batch_input
        out = self.output * factor if self.batch_output is None else self.batch_output

        def scaled(v: float | None) -> float:
            return inp if v is None or provider == "vertex" else v * factor

        return Price(input=inp, output=out, cache_read=scaled(self.cache_read), cache_write=scaled(self.cache_write))


# The batch discount each provider documents for its batch API (Bedrock batch inference, Azure
# OpenAI Global Batch, Vertex batch prediction: 50% of on-demand).
BATCH_DISCOUNT = {"bedrock": 0.5, "azure_openai": 0.5, "vertex": 0.5}
# The most records one provider job takes (Bedrock: 50,000 per job; Azure: 100,000 per file;
# Vertex: 200,000 per job); a deployment's `batch.max_records` may only lower it.
BATCH_MAX_RECORDS = {"bedrock": 50_000, "azure_openai": 100_000, "vertex": 200_000}


class DeploymentBatch(_M):
    """How a deployment's batch work goes to its provider's batch API (docs/batch.md). Without this
    section a deployment takes no provider batches: batch work for its model runs on demand."""

    min_records: int = Field(default=1, ge=1, description="the provider's minimum records per job (Bedrock: a "
                                                           "per-model quota, 100 for most models); fewer fall back")
    max_records: int | None = Field(default=None, ge=1, description="records per provider job (default: the "
                                                                    "provider's maximum)")
    max_wait_s: float = Field(default=3600.0, ge=0, description="submit once the oldest waiting line is this old, "
                                                                "even below max_records")
    deadline_s: float = Field(default=86400.0, gt=0, description="a line with no provider result this long after "
                                                                 "submit runs on demand instead")
    fallback: bool = Field(default=True, description="on a failed or expired provider job, run the unanswered "
                                                      "lines on demand (false: fail them with the reason)")
    max_enqueued_tokens: int | None = Field(default=None, gt=0, description="Azure: the deployment's enqueued-token "
                                                                            "quota across its queued jobs")
    role_arn: str | None = Field(default=None, description="Bedrock: the batch service role (on AWS: from "
                                                           "deployment.BATCH_ROLE_ARN)")
    invocation: Literal["auto", "converse", "invoke_model"] = Field(
        default="auto", description="Bedrock: the record body and modelInvocationType (auto: InvokeModel for "
                                    "anthropic.*, Converse for the rest)")
    timeout_hours: int = Field(default=24, ge=24, le=168, description="Bedrock: timeoutDurationInHours")

    def records(self, provider: str) -> int:
        cap = BATCH_MAX_RECORDS.get(provider, 50_000)
        return min(cap, self.max_records or cap)


class Deployment(_M):
    """One upstream model behind a logical model name."""

    name: str = Field(min_length=1)
    model: str = Field(min_length=1, description="the logical model this deployment serves")
    provider: ProviderKind
    upstream_model: str = Field(min_length=1, description="the provider's model / deployment id")
    endpoint: str | None = None
    region: str | None = None
    project: str | None = None
    location: str | None = None
    api_version: str | None = None
    auth: Literal["api_key", "entra", "sigv4", "google", "none"] = "api_key"
    api_key_env: str | None = Field(default=None, description="name of the env var holding the API key")
    weight: int = Field(default=1, ge=0)
    price: Price = Price()
    context_window: int = Field(default=8192, gt=0)
    capabilities: tuple[Capability, ...] = ()
    model_class: ModelClass = ModelClass.SMALL
    canary_percent: float = Field(default=0.0, ge=0, le=100)
    batch: DeploymentBatch | None = Field(default=None, description="provider batch jobs (bedrock, azure_openai, "
                                                                    "vertex); see docs/batch.md")
    prompt_cache: Literal["auto", "off"] = Field(default="auto", description="auto: add the provider's caching "
                                                 "hint (Bedrock cachePoint) when the system prefix passes its minimum")
    output_tokens_per_s: float | None = Field(default=None, gt=0, description="the deployment's output speed: a sync "
                                              "request whose max_tokens cannot finish within api.sync_deadline_s "
                                              "is refused toward /v1/jobs (docs/readiness.md)")

    def upstream(self) -> Upstream:
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        return Upstream(
            provider=self.provider, model=self.upstream_model, endpoint=self.endpoint, region=self.region,
            project=self.project, location=self.location, api_version=self.api_version, auth=self.auth,
            api_key=key, auto_cache=self.prompt_cache == "auto",
        )


class ModelConfig(_M):
    """A logical model: how to choose among its deployments. Order of `deployments` is the priority."""

    strategy: Strategy = "priority"
    deployments: tuple[str, ...] = Field(min_length=1)
    fallback: FallbackResponse | None = Field(default=None, description="answered, marked, while every breaker "
                                              "of the model's deployments is open (runtime/router/fallback.py)")


class Tenant(_M):
    name: str = Field(min_length=1)
    tier: TierName
    api_keys: tuple[str, ...] = Field(default=(), description="sha256 hex digests of the tenant's API keys")
    dedicated: tuple[str, ...] = Field(default=(), description="deployment names pinned to this tenant")

    @field_validator("api_keys")
    @classmethod
    def _hashes(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return sha256_digests(v)


def sha256_digests(v: tuple[str, ...]) -> tuple[str, ...]:
    """Keys live in config only as sha256 hex digests."""
    for h in v:
        if not _SHA256.match(h):
            raise ValueError("must be a sha256 hex digest (64 lowercase hex chars), not a plaintext key")
    return v


class LimiterConfig(_M):
    backend: Literal["memory", "sqlite", "redis", "dynamodb", "cosmos", "firestore"] = Field(
        default="memory",
        description="memory: one process only, lost on restart; sqlite: the processes of one host, kept across "
                    "restarts; redis: shared by hosts (Lua); dynamodb: shared, serverless (Lambda, no VPC); "
                    "cosmos: shared, serverless (Azure Functions); firestore: shared, serverless (Cloud Run)",
    )
    path: str = Field(default=".skyrelay/limits.db", min_length=1, description="sqlite: the limits file")
    redis_url: str = "redis://127.0.0.1:6379/0"
    prefix: str = "skyrelay:rl"
    table: str | None = Field(default=None, min_length=1,
                              description="dynamodb: the table for the counters (on Lambda: the job table)")
    endpoint_url: str | None = Field(default=None, description="dynamodb: an emulator endpoint (tests)")
    region: str | None = Field(default=None, description="dynamodb: the table's region (default: AWS_REGION)")
    # cosmos (Azure): the job store's container; on Azure Functions, bootstrap fills these in
    cosmos_endpoint: str | None = Field(default=None, min_length=1, description="cosmos: the account endpoint")
    cosmos_database: str | None = Field(default=None, min_length=1, description="cosmos: the database")
    cosmos_container: str | None = Field(default=None, min_length=1, description="cosmos: the container")
    client_id: str | None = Field(default=None, description="cosmos: the managed identity's client id")
    cosmos_emulator_key: str | None = Field(default=None, description="cosmos: an emulator's key (tests)")
    # firestore (GCP): the job store's collection; on Cloud Run, bootstrap fills these in
    firestore_project: str | None = Field(default=None, min_length=1, description="firestore: the project id")
    firestore_collection: str | None = Field(default=None, min_length=1, description="firestore: the collection")
    firestore_database: str | None = Field(default=None, min_length=1, description="firestore: the database id")


class CacheConfig(_M):
    enabled: bool = True
    backend: Literal["memory", "redis"] = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    ttl_s: float = Field(default=300.0, gt=0)
    max_entries: int = Field(default=10_000, gt=0)


class Timeouts(_M):
    request_s: float = Field(default=60.0, gt=0, description="deadline for one request, all retries included")
    attempt_s: float = Field(default=30.0, gt=0, description="one non-streamed upstream attempt")
    ttft_s: float = Field(default=10.0, gt=0, description="time to the first streamed chunk")
    idle_s: float = Field(default=30.0, gt=0, description="longest gap between streamed chunks")
    stream_sync: bool = Field(default=True, description="non-streamed requests are streamed from the upstream "
                              "and aggregated, so `ttft_s` and hedging see a first chunk in every mode")


class HedgeConfig(_M):
    """While an attempt has sent no first chunk after its deployment's hedge delay, the next deployment is
    started too; the first to send a first chunk wins. The delay is the deployment's TTFT estimate
    (EWMA + 4 x mean deviation) between `min_s` and `max_s`; `initial_s` before it has one."""

    enabled: bool = True
    min_s: float = Field(default=0.25, gt=0, description="never hedge sooner")
    initial_s: float = Field(default=0.5, gt=0, description="the delay before a deployment's first TTFT sample")
    max_s: float = Field(default=5.0, gt=0, description="never wait longer before hedging")
    max_share: float = Field(default=0.2, gt=0, le=1, description="hedges in flight: at most this share of "
                             "the requests in flight (at least 3), so an overloaded router does not multiply its load")

    @model_validator(mode="after")
    def _ordered(self) -> "HedgeConfig":
        if not self.min_s <= self.initial_s <= self.max_s:
            raise ValueError("initial_s: must lie between min_s and max_s")
        return self


class BreakerConfig(_M):
    failure_threshold: int = Field(default=5, gt=0, description="consecutive failures that open the breaker")
    open_s: float = Field(default=30.0, gt=0, description="time open before half-open probes")
    half_open_probes: int = Field(default=1, gt=0, description="concurrent probes allowed when half-open")


class RetryConfig(_M):
    attempts: int = Field(default=4, gt=0, description="upstream attempts per request, fallbacks included")
    base_s: float = Field(default=0.1, ge=0)
    max_s: float = Field(default=2.0, ge=0)
    cooldown_s: float = Field(default=1.0, ge=0, description="rest after a 429 with no Retry-After")


class ApiConfig(_M):
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    max_header_bytes: int = Field(default=65536, ge=1024, description="request line + headers; larger gets 431")
    metrics_keys: tuple[str, ...] = Field(
        default=(), description="sha256 hex digests of the bearer tokens that may read GET /metrics (none: closed)")
    default_max_tokens: int | None = Field(
        default=4096, gt=0, description="max_tokens sent upstream when the client gives none: min(this, the tier "
                                        "cap); null: the tier cap")
    sync_deadline_s: float | None = Field(
        default=None, gt=0, description="the gateway's hard limit for a synchronous request, less a margin (API "
                                        "Gateway: 29 s): a chat request whose max_tokens cannot finish in it is "
                                        "refused with `use_async_jobs` (docs/readiness.md); null: no limit")

    @field_validator("metrics_keys")
    @classmethod
    def _hashes(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return sha256_digests(v)


class RouterConfig(_M):
    deployments: tuple[Deployment, ...] = Field(min_length=1)
    models: dict[str, ModelConfig] = Field(min_length=1)
    tenants: tuple[Tenant, ...] = ()
    tier_overrides: dict[TierName, TierOverride] = {}
    limiter: LimiterConfig = LimiterConfig()
    cache: CacheConfig = CacheConfig()
    timeouts: Timeouts = Timeouts()
    hedge: HedgeConfig = HedgeConfig()
    breaker: BreakerConfig = BreakerConfig()
    retry: RetryConfig = RetryConfig()
    api: ApiConfig = ApiConfig()

    @model_validator(mode="after")
    def _references(self) -> "RouterConfig":
        by_name = {}
        for i, d in enumerate(self.deployments):
            if d.name in by_name:
                raise ValueError(f"deployments[{i}].name: duplicate deployment {d.name!r}")
            by_name[d.name] = d
            if d.model not in self.models:
                raise ValueError(f"deployments[{i}].model: {d.model!r} is not in `models`")
            if d.batch is not None and d.provider not in BATCH_DISCOUNT:
                raise ValueError(f"deployments[{i}].batch: {d.provider} has no batch API here (bedrock, azure_openai, "
                                 "vertex)")
        for name, m in self.models.items():
            for dep in m.deployments:
                if dep not in by_name:
                    raise ValueError(f"models.{name}.deployments: unknown deployment {dep!r}")
                if by_name[dep].model != name:
                    raise ValueError(f"models.{name}.deployments: {dep!r} serves model {by_name[dep].model!r}")
        seen_keys: set[str] = set()
        for i, t in enumerate(self.tenants):
            for dep in t.dedicated:
                if dep not in by_name:
                    raise ValueError(f"tenants[{i}].dedicated: unknown deployment {dep!r}")
            for h in t.api_keys:
                if h in seen_keys:
                    raise ValueError(f"tenants[{i}].api_keys: key hash used by two tenants")
                seen_keys.add(h)
        return self

    def deployment(self, name: str) -> Deployment:
        return next(d for d in self.deployments if d.name == name)

    def tiers(self) -> dict[TierName, Tier]:
        return apply_overrides(default_tiers(), dict(self.tier_overrides))

    def model_class(self, model: str) -> ModelClass:
        """The class a tier must allow to call `model`: the largest non-dedicated class among its deployments."""
        order = [ModelClass.SMALL, ModelClass.MEDIUM, ModelClass.LARGE, ModelClass.DEDICATED]
        classes = [self.deployment(d).model_class for d in self.models[model].deployments]
        shared = [c for c in classes if c != ModelClass.DEDICATED] or classes
        return max(shared, key=order.index)


def hash_key(plaintext: str) -> str:
    """The form in which API keys are stored in config: sha256 hex of the plaintext."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def parse_config(raw: dict, source: str = "router config", model: type[RouterConfig] = RouterConfig) -> RouterConfig:
    """`raw` validated as `model` (the router's sections; runtime/config.py adds `jobs:`); an error
    is a ConfigError naming the key as the user wrote it."""
    if not isinstance(raw, dict):
        raise ConfigError("<root>", "expected a mapping at the top level", source)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        if not err["loc"] and ": " in msg:  # cross-reference errors carry their key in the message
            key, _, rest = msg.partition(": ")
            raise ConfigError(key, rest, source) from None
        key = ""
        for part in err["loc"]:
            key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
        raise ConfigError(key or "<root>", msg, source) from None


def load_config(path: str | os.PathLike, model: type[RouterConfig] = RouterConfig) -> RouterConfig:
    import yaml  # here, not at import: on Lambda the config arrives as JSON (deployment.CONFIG_JSON)

    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError("<file>", f"invalid YAML: {exc}", str(p)) from None
    return parse_config(raw, str(p), model)
