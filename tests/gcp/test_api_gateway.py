"""gcp-dev's JobsApi: the OpenAPI document's routes, security and quotas, the ApiConfig's safe
replacement, the API service's single invoker and the generated keys in the router config."""

import base64
import hashlib
import json

import pytest

from skyrelay import deployment as contract
from skyrelay.components.api_common import ROUTES
from skyrelay.components.gcp.openapi import QUOTA_UNIT, openapi_document
from skyrelay.plan.mocks import _short_hash
from tests.gcp.conftest import env_of, named, raw_env_of

GATEWAY_SA = "api-gateway@skyrelay-dev.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def document(gcp_plan):
    config = gcp_plan.one("gcp:apigateway/apiConfig:ApiConfig")
    (doc,) = config.inputs["openapiDocuments"]
    assert doc["document"]["path"] == "openapi.yaml"
    return json.loads(base64.b64decode(doc["document"]["contents"]))


def test_routes_are_the_aws_routes(document):
    assert document["swagger"] == "2.0"
    wanted = {("/" + path, verb.lower()) for path, verbs in ROUTES for verb in verbs}
    got = {(path, verb) for path, ops in document["paths"].items() for verb in ops}
    assert got == wanted
    assert {"/v1/jobs", "/v1/jobs/{id}", "/v1/chat/completions"} <= set(document["paths"])
    assert document["paths"]["/v1/jobs/{id}"]["get"]["parameters"] == [
        {"name": "id", "in": "path", "required": True, "type": "string"}]
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))


def test_backend_is_the_api_service_with_its_url_as_jwt_audience(gcp_plan, document):
    api = named(gcp_plan, "gcp:cloudrunv2/service:Service", "api-service")
    backend = document["x-google-backend"]
    assert backend["address"] == backend["jwt_audience"]
    assert api.inputs["name"] == "api-api" and backend["address"].startswith("https://api-api-") and backend["path_translation"] == "APPEND_PATH_TO_ADDRESS"
    assert backend["deadline"] == 60.0


def test_api_key_on_every_operation_and_a_per_project_quota_ceiling(gcp_config, document):
    assert document["securityDefinitions"] == {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}
    assert document["security"] == [{"api_key": []}]
    management = document["x-google-management"]
    assert management["metrics"] == [{"name": "skyrelay-requests", "displayName": "skyrelay requests",
                                      "valueType": "INT64", "metricKind": "DELTA"}]
    (limit,) = management["quota"]["limits"]
    ceiling = max(t.rpm for t in gcp_config.tier_table().values())
    assert limit == {"name": "skyrelay-requests-per-minute", "metric": "skyrelay-requests", "unit": QUOTA_UNIT,
                     "values": {"STANDARD": ceiling}}
    assert QUOTA_UNIT == "1/min/{project}" and ceiling == 1000
    for ops in document["paths"].values():
        for op in ops.values():
            assert op["x-google-quota"] == {"metricCosts": {"skyrelay-requests": 1}}


def test_optional_jwt_adds_issuer_and_jwks():
    doc = openapi_document(title="t", backend_url="https://a", tiers=[{"name": "free", "rpm": 10}], metric="m",
                           deadline_s=30, jwt={"issuer": "https://issuer", "jwks_uri": "https://issuer/jwks",
                                               "audiences": ["aud-1"]})
    assert doc["securityDefinitions"]["jwt"]["x-google-issuer"] == "https://issuer"
    assert doc["securityDefinitions"]["jwt"]["x-google-jwks_uri"] == "https://issuer/jwks"
    assert doc["securityDefinitions"]["jwt"]["x-google-audiences"] == "aud-1"
    assert doc["security"] == [{"api_key": [], "jwt": []}]
    with pytest.raises(ValueError):
        openapi_document(title="t", backend_url="https://a", tiers=[], metric="m", deadline_s=30)


def test_api_config_is_prefixed_and_replaced_create_before_destroy(gcp_plan):
    config = gcp_plan.one("gcp:apigateway/apiConfig:ApiConfig")
    assert config.inputs["apiConfigIdPrefix"] == "api-" and "apiConfigId" not in config.inputs
    assert config.inputs["gatewayConfig"] == {"backendConfig": {"googleServiceAccount": GATEWAY_SA}}
    assert config.request.deleteBeforeReplace is False
    assert sorted(config.request.replaceOnChanges) == ["gatewayConfig", "openapiDocuments"]
    gateway = gcp_plan.one("gcp:apigateway/gateway:Gateway")
    assert gateway.inputs["region"] == "europe-west1" and config.urn in gateway.dependencies


def test_only_the_gateway_may_invoke_the_api_service(gcp_plan):
    api = named(gcp_plan, "gcp:cloudrunv2/service:Service", "api-service")
    assert api.inputs["invokerIamDisabled"] is False and api.inputs["deletionProtection"] is True
    grants = [g for g in gcp_plan.of_type("gcp:cloudrunv2/serviceIamMember:ServiceIamMember")
              if g.inputs["name"] == "api-api"]
    assert [(g.inputs["role"], g.inputs["member"]) for g in grants] == [("roles/run.invoker", f"serviceAccount:{GATEWAY_SA}")]
    assert api.inputs["template"]["serviceAccount"] == "jobs-api@skyrelay-dev.iam.gserviceaccount.com"
    (c,) = api.inputs["template"]["containers"]
    assert c["args"][-1] == "api" and c["image"].endswith("/jobs-runtime/runtime")
    assert api.inputs["buildConfig"]["environmentVariables"]["GOOGLE_ENTRYPOINT"].endswith("--role api")


def test_keys_are_restricted_to_the_gateway_and_their_digests_are_the_tenants_keys(gcp_plan, gcp_config):
    keys = {k.name: k for k in gcp_plan.of_type("gcp:projects/apiKey:ApiKey")}
    tiers = [t.value for t in gcp_config.tier_table()]
    assert sorted(keys) == sorted(f"api-key-{t}-demo" for t in tiers)
    for key in keys.values():
        (target,) = key.inputs["restrictions"]["apiTargets"]
        assert target["service"].startswith("api-api-") and target["service"].endswith(".apigateway.skyrelay-dev.cloud.goog")
    env = env_of(named(gcp_plan, "gcp:cloudrunv2/service:Service", "api-service"))
    assert env[contract.CONFIG_JSON]["value"] == "[secret]"
    config = json.loads(raw_env_of(named(gcp_plan, "gcp:cloudrunv2/service:Service", "api-service"))[contract.CONFIG_JSON]["value"])
    by_tenant = {t["name"]: t for t in config["tenants"]}
    for tier in tiers:
        value = "AIzaSyMock" + _short_hash(f"api-key-{tier}-demo") * 4  # the plan's mock key string
        assert by_tenant[tier]["tier"] == tier
        assert by_tenant[tier]["api_keys"] == [hashlib.sha256(value.encode()).hexdigest()]
    assert env[contract.MAX_BODY_BYTES]["value"] == "65536"
    assert config["limiter"] == {"backend": "firestore"}
    assert {d["provider"] for d in config["deployments"]} == {"vertex"}
