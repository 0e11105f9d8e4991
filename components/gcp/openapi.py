"""The API Gateway's OpenAPI 2.0 document, rendered from the same routes as the AWS REST API.

- `x-google-backend` sends every operation to the API Cloud Run service, with `jwt_audience` set to
  the service's URL: the gateway mints an ID token of its own service account for that audience,
  and Cloud Run admits only that account (roles/run.invoker), so the service cannot be called
  around the gateway.
- API key security (`x-api-key` header) on every operation, and an optional JWT
  (`x-google-issuer`, `x-google-jwks_uri`, `x-google-audiences`).
- `x-google-management` quotas: API Gateway limits only per minute and per consumer project (the
  project that owns the API key), never per key or per tier. The limit is therefore a coarse ceiling,
  the largest RPM of the offered tiers; each tenant's tier is enforced exactly by the runtime's
  shared limiter (docs/gcp.md).
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from skyrelay.components.api_common import ROUTES

QUOTA_UNIT = "1/min/{project}"  # the only unit API Gateway quotas have


def operation_id(verb: str, path: str) -> str:
    words = [p.strip("{}") for p in path.split("/") if p]
    return verb.lower() + "".join(w[:1].upper() + w[1:] for w in words)


def quota_ceiling(tiers: Sequence[Mapping[str, Any]]) -> int:
    """Requests per minute per consumer project: the largest tier RPM (a ceiling, not a tier)."""
    if not tiers:
        raise ValueError("at least one tier is needed for the gateway quota")
    return max(int(t["rpm"]) for t in tiers)


def openapi_document(*, title: str, backend_url: str, tiers: Sequence[Mapping[str, Any]], metric: str,
                     deadline_s: float, api_key_required: bool = True,
                     jwt: Mapping[str, Any] | None = None) -> dict:
    security_definitions: dict[str, Any] = {}
    security: dict[str, list] = {}
    if api_key_required:
        security_definitions["api_key"] = {"type": "apiKey", "name": "x-api-key", "in": "header"}
        security["api_key"] = []
    if jwt:
        security_definitions["jwt"] = {
            "authorizationUrl": "", "flow": "implicit", "type": "oauth2",
            "x-google-issuer": jwt["issuer"], "x-google-jwks_uri": jwt["jwks_uri"],
            **({"x-google-audiences": ",".join(jwt["audiences"])} if jwt.get("audiences") else {}),
        }
        security["jwt"] = []
    paths: dict[str, dict] = {}
    for path, verbs in ROUTES:
        ops = paths.setdefault("/" + path, {})
        params = [{"name": p.strip("{}"), "in": "path", "required": True, "type": "string"}
                  for p in path.split("/") if p.startswith("{")]
        for verb in verbs:
            ops[verb.lower()] = {
                "operationId": operation_id(verb, path),
                **({"parameters": params} if params else {}),
                "x-google-quota": {"metricCosts": {metric: 1}},
                "responses": {"default": {"description": "the API's answer, passed through"}},
            }
    return {
        "swagger": "2.0",
        "info": {"title": title, "version": "1.0.0"},
        "schemes": ["https"],
        "produces": ["application/json"],
        "x-google-backend": {"address": backend_url, "jwt_audience": backend_url, "deadline": deadline_s,
                             "path_translation": "APPEND_PATH_TO_ADDRESS"},
        "x-google-management": {
            "metrics": [{"name": metric, "displayName": "skyrelay requests", "valueType": "INT64",
                         "metricKind": "DELTA"}],
            "quota": {"limits": [{"name": f"{metric}-per-minute", "metric": metric, "unit": QUOTA_UNIT,
                                  "values": {"STANDARD": quota_ceiling(tiers)}}]},
        },
        "securityDefinitions": security_definitions,
        "security": [security] if security else [],
        "paths": paths,
    }


def document_text(doc: dict) -> str:
    return json.dumps(doc, indent=1, sort_keys=True)
