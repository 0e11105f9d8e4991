"""What every cloud's JobsApi shares: the routes the edge serves, the tier limits it enforces (from
the core tier table), the `<tier>:<name>` key specs it parses, and the API key digests it adds to
the runtime's router config. The AWS REST API builds its resources from ROUTES; GCP renders them
into its OpenAPI document; a new cloud's gateway starts here too."""

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import TypedDict

from skyrelay.errors import ConfigError
from skyrelay.tiers import default_tiers

# (path, methods) served by the API service; all proxied, all behind an API key.
ROUTES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("v1/jobs", ("POST", "GET")),
    ("v1/jobs/{id}", ("GET", "DELETE")),
    ("v1/chat/completions", ("POST",)),
    # the OpenAI Batch API (runtime/api/files.py, batches.py; docs/batch.md)
    ("v1/files", ("POST",)),
    ("v1/files/{id}", ("GET",)),
    ("v1/files/{id}/content", ("GET",)),
    ("v1/batches", ("POST", "GET")),
    ("v1/batches/{id}", ("GET",)),
    ("v1/batches/{id}/cancel", ("POST",)),
)


class TierLimits(TypedDict):
    name: str
    """Tier name (free, developer, professional, enterprise)."""
    rpm: int
    """Requests per minute per API key (on Azure, per subscription, whose key is the API key)."""
    monthly_request_quota: int
    """Requests per API key (on Azure, per subscription) per month."""


def tier_limits_from_table(tiers=None) -> list[TierLimits]:
    """TierLimits for each tier of a tier table (default: the core table), so the edge enforces the
    runtime limiter's numbers."""
    table = tiers if tiers is not None else default_tiers()
    return [{"name": str(getattr(t.name, "value", t.name)), "rpm": t.rpm, "monthly_request_quota": t.monthly_request_quota}
            for t in table.values()]


def parse_tier_specs(specs: Sequence[str], tier_names: Sequence[str], key: str = "JobsApi.api_keys",
                     noun: str = "name") -> list[tuple[str, str]]:
    """`<tier>:<name>` entries as (tier, name) pairs; ConfigError naming `key` for an unknown tier or
    no name (before any resource is registered)."""
    parsed = []
    for spec in specs:
        tier, sep, name = str(spec).partition(":")
        if not sep or not name or tier not in tier_names:
            raise ConfigError(key, f"{spec!r}: expected `<tier>:<{noun}>` with tier one of {list(tier_names)}")
        parsed.append((tier, name))
    return parsed


def with_key_hashes(router_config: str, keys: Iterable[tuple[str, str]]) -> str:
    """`router_config` (JSON) with the sha256 hex of each `(tier, key value)` added to the API keys
    of the tenant named after the tier (created when missing)."""
    return with_tenant_key_hashes(router_config, ((tier, tier, value) for tier, value in keys))


def with_tenant_key_hashes(router_config: str, keys: Iterable[tuple[str, str, str]]) -> str:
    """`router_config` (JSON) with the sha256 hex of each `(tier, tenant, key value)` added to that
    tenant's API keys (the tenant created, on that tier, when missing). The runtime stores keys only
    as sha256 digests; a digest of a generated, high-entropy key cannot be reversed."""
    doc = json.loads(router_config)
    tenants = doc.setdefault("tenants", [])
    for tier, name, value in keys:
        tenant = next((t for t in tenants if t.get("name") == name), None)
        if tenant is None:
            tenant = {"name": name, "tier": tier}
            tenants.append(tenant)
        digest = hashlib.sha256(value.encode()).hexdigest()
        if digest not in tenant.setdefault("api_keys", []):
            tenant["api_keys"].append(digest)
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def key_digests_env(keys: Iterable[tuple[str, str]]) -> str:
    """KEY_DIGESTS for `(tier, key value)` pairs: {tenant named after the tier: [sha256 hex, ...]},
    for a function whose router config is not in its environment (the runtime merges them in)."""
    doc: dict[str, list[str]] = {}
    for tier, value in keys:
        digest = hashlib.sha256(value.encode()).hexdigest()
        if digest not in doc.setdefault(tier, []):
            doc[tier].append(digest)
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)
