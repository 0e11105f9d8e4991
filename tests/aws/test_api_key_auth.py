"""The deployed API authenticates the API keys JobsApi creates: the rendered API function's
SKYRELAY_KEY_DIGESTS carries each generated key's sha256 for its tier's tenant (a secret output),
and the runtime, loaded from the router config file in the function's zip plus those digests, maps
the key to the right tenant and tier."""

import hashlib
import json

import orjson
import pytest
from google.protobuf import json_format

from skyrelay.plan import wire
from skyrelay.runtime.platforms import bootstrap
from tests.aws import moto_server

FUNCTION = "aws:lambda/function:Function"
API_KEY = "aws:apigateway/apiKey:ApiKey"


@pytest.fixture(scope="module")
def plan():
    from skyrelay.plan import render_stack

    return render_stack("aws-dev")[0]


def unmasked(value):
    """A wire value with secrets revealed (the plan masks them as "[secret]")."""
    if isinstance(value, dict):
        if value.get(wire.SIG) == wire.SECRET or value.get(wire.SIG) == wire.OUTPUT_VALUE:
            return unmasked(value.get("value"))
        return {k: unmasked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unmasked(v) for v in value]
    return value


def raw_env(resource) -> dict:
    return unmasked(json_format.MessageToDict(resource.request.object))["environment"]["variables"]


def router_doc(resource) -> dict:
    """The router config file the function's zip carries (SKYRELAY_CONFIG names it), as deployed."""
    import zipfile

    name = raw_env(resource)["SKYRELAY_CONFIG"]
    with zipfile.ZipFile(resource.inputs["code"]["path"]) as zf:
        return json.loads(zf.read(name))


def deployed_config(resource, deployment=None, env=None):
    """What the runtime loads at cold start from the rendered function: its environment, with the
    code root holding the zip's router config file (read through bootstrap, as on Lambda)."""
    import tempfile
    import zipfile

    env = raw_env(resource) if env is None else env
    with tempfile.TemporaryDirectory() as root, zipfile.ZipFile(resource.inputs["code"]["path"]) as zf:
        zf.extract(env["SKYRELAY_CONFIG"], root)
        return bootstrap.router_config(env, root=root, deployment=deployment)


def mock_key_value(key) -> str:
    """The value the plan's mocks generate for an ApiKey (skyrelay/plan/mocks.py), as AWS would."""
    return "mock-api-key-" + hashlib.sha256(key.name.encode()).hexdigest()[:8]


def fn(plan, name):
    return next(f for f in plan.of_type(FUNCTION) if f.name == name)


def test_api_function_key_digests_are_secret_and_land_in_each_key_tier_tenant(plan):
    api = fn(plan, "api-handler")
    variables = api.inputs["environment"]["variables"]
    assert variables["SKYRELAY_KEY_DIGESTS"] == "[secret]"
    assert "SKYRELAY_CONFIG_JSON" not in variables  # the router config is a file in the zip
    loaded = deployed_config(api)
    keys = plan.of_type(API_KEY)
    assert len(keys) == 4
    from skyrelay.runtime.api.auth import KeyStore

    store = KeyStore(loaded.tenants)
    for key in keys:
        tier = key.inputs["description"].split()[0]
        tenant = store.tenant_for(None, mock_key_value(key).encode())
        assert (tenant.name, tenant.tier.value) == (tier, tier)
        assert key.name == f"api-key-{tier}-demo"
    # the zip's file has no key hashes (both functions run it; the worker authenticates nobody)
    worker = fn(plan, "jobs-worker")
    assert "SKYRELAY_KEY_DIGESTS" not in worker.inputs["environment"]["variables"]
    assert all("api_keys" not in t for t in router_doc(worker)["tenants"])
    assert router_doc(worker) == router_doc(api)
    assert len(raw_env(api)["SKYRELAY_KEY_DIGESTS"].encode()) <= 1024
    # Lambda's 4 KB holds every variable, names and values together
    for f in (api, worker):
        assert sum(len(k) + len(v) for k, v in raw_env(f).items()) <= 4096


def test_no_dependency_cycle_keys_before_function_and_plan_keys_after_stage(plan):
    api = fn(plan, "api-handler")
    key_urns = {k.urn for k in plan.of_type(API_KEY)}
    assert key_urns <= set(api.dependencies) | {u for us in api.property_dependencies.values() for u in us}
    for k in plan.of_type(API_KEY):
        assert api.urn not in k.dependencies
    for upk in plan.of_type("aws:apigateway/usagePlanKey:UsagePlanKey"):
        assert set(upk.property_dependencies["keyId"]) <= key_urns


def test_the_deployed_api_handler_accepts_a_generated_key_and_rejects_others(plan):
    moto_server.endpoint()  # a missing moto[server] fails here (tests/peers.py)
    from skyrelay.runtime.platforms.aws_lambda import api
    from skyrelay.runtime.queues.sqs import SqsJobQueue
    from skyrelay.runtime.stores.dynamodb import DynamoJobStore, create_table
    from tests.aws.test_lambda_e2e import rest_event

    env = raw_env(fn(plan, "api-handler"))
    config = deployed_config(fn(plan, "api-handler"), env={k: env[k] for k in ("SKYRELAY_CONFIG",
                                                                                "SKYRELAY_KEY_DIGESTS")})
    jobs_cfg = bootstrap.jobs_config(config, {})
    urls = moto_server.make_queues(2, visibility_s=30)
    table = moto_server.unique("jobs")
    create_table(moto_server.client("dynamodb"), table)
    # the deployed limiter (DynamoDB, on the job table the function's environment names) on moto
    config = config.model_copy(update={"limiter": config.limiter.model_copy(
        update={"table": table, "endpoint_url": moto_server.endpoint()})})
    handle = api.make_handler(api.build_app(
        config, DynamoJobStore(table, client=moto_server.client("dynamodb")),
        SqsJobQueue(urls["interactive"], urls["batch"], client=moto_server.client("sqs")), jobs_cfg))
    key = next(k for k in plan.of_type(API_KEY) if k.name == "api-key-developer-demo")
    out = handle(rest_event("POST", "/v1/jobs", {"model": "fast", "messages": [{"role": "user", "content": "hi"}]},
                            key=mock_key_value(key)))
    assert out["statusCode"] == 202, out
    job_id = orjson.loads(out["body"])["id"]
    assert handle(rest_event("GET", f"/v1/jobs/{job_id}", key=mock_key_value(key)))["statusCode"] == 200
    # another tier's key is another tenant: the job is not theirs
    other = next(k for k in plan.of_type(API_KEY) if k.name == "api-key-free-demo")
    assert handle(rest_event("GET", f"/v1/jobs/{job_id}", key=mock_key_value(other)))["statusCode"] == 404
    bad = handle(rest_event("GET", "/v1/jobs", key="mock-api-key-00000000"))
    assert bad["statusCode"] == 401
