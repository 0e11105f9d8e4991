"""What every cloud's JobsApi shares: the routes the edge serves and the API key digests it adds to
the runtime's router config. The AWS REST API builds its resources from ROUTES; GCP renders them
into its OpenAPI document; a new cloud's gateway starts here too."""

import hashlib
import json

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


def with_key_hashes(router_config: str, keys) -> str:
    """`router_config` (JSON) with the sha256 hex of each `(tier, key value)` added to the API keys
    of the tenant named after the tier (created when missing). The runtime stores keys only as
    sha256 digests; a digest of a generated, high-entropy key cannot be reversed."""
    doc = json.loads(router_config)
    tenants = doc.setdefault("tenants", [])
    for tier, value in keys:
        tenant = next((t for t in tenants if t.get("name") == tier), None)
        if tenant is None:
            tenant = {"name": tier, "tier": tier}
            tenants.append(tenant)
        digest = hashlib.sha256(value.encode()).hexdigest()
        if digest not in tenant.setdefault("api_keys", []):
            tenant["api_keys"].append(digest)
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)
