"""The deployed functions' router config (rendered from the stack config, loaded by the runtime), the
adapter registrations (`jobs.store.backend: dynamodb`, `jobs.queue.backend: sqs`), and the small
SigV4 JSON client the Lambda runtime uses instead of botocore, against a real moto server."""

import asyncio
import json

import pytest

from skyrelay import deployment as contract
from skyrelay.config import load_stack_config
from skyrelay.runtime.clouds.aws import json_client as awsjson
from skyrelay.runtime.clouds.aws.secrets import load_secrets
from skyrelay.runtime.platforms import bootstrap
from skyrelay.runtime.platforms.aws_lambda.runtime import AWS
from tests.aws import moto_server

FUNCTION = "aws:lambda/function:Function"


@pytest.fixture(scope="module")
def plan():
    from skyrelay.plan import render_stack

    return render_stack("aws-dev")[0]


@pytest.fixture(scope="module")
def config(project_root):
    return load_stack_config(project_root / "stacks" / "Pulumi.aws-dev.yaml")


@pytest.fixture(scope="module")
def moto():
    return moto_server.endpoint()  # a missing moto[server] fails here (tests/peers.py)


def test_both_functions_get_the_router_config_and_the_runtime_loads_it(plan, config):
    fns = plan.of_type(FUNCTION)
    assert len(fns) == 2
    tiers = config.tier_table()
    from tests.aws.test_api_key_auth import deployed_config, raw_env, router_doc

    for f in fns:
        env = raw_env(f)
        assert env[contract.CONFIG_FILE] == contract.ROUTER_CONFIG_FILE and contract.CONFIG_JSON not in env
        raw = json.dumps(router_doc(f))
        assert "whsec_" not in raw and "secret" not in raw.lower()  # secrets stay in Secrets Manager
        loaded = deployed_config(f, deployment=AWS)
        assert [t.name for t in loaded.tenants] == [t.value for t in tiers]
        assert {t.name: t.tier.value for t in loaded.tenants} == {t.value: t.value for t in tiers}
        for name, tier in tiers.items():  # the stack's overrides reach the runtime limiter (through TIERS)
            assert loaded.tiers()[name].rpm == tier.rpm
        assert loaded.tiers()["enterprise"].rpm == 1200
        for d in loaded.deployments:
            assert (d.provider, d.auth) == ("bedrock", "sigv4")
            assert d.region in (config.aws.region, config.aws.failover_region)
            assert d.endpoint is None and d.api_key_env is None
        assert set(loaded.models) == {"fast", "quality"}
        # the limiter is shared by every container (DynamoDB, the job table), never per process
        assert loaded.limiter.backend == "dynamodb"
        jobs = bootstrap.jobs_config(loaded, env, AWS)
        assert (jobs.store.backend, jobs.queue.backend) == ("dynamodb", "sqs")
        assert jobs.worker.max_attempts == jobs.queue.max_receives == config.aws.max_receive_count
        assert env["SKYRELAY_WEBHOOK_SECRET_ARN"]  # the secret itself is read at cold start
        assert jobs.webhooks.secret_envs == {t.value: ("SKYRELAY_WEBHOOK_SECRET",) for t in tiers}
        assert jobs.store.options["table"] == env["SKYRELAY_JOBS_TABLE"]
        assert jobs.queue.options["interactive_dlq_url"] == env["SKYRELAY_DLQ_INTERACTIVE_URL"]


def test_functions_may_invoke_exactly_the_configured_bedrock_models(plan, config):
    from tests.aws.test_api_key_auth import deployed_config
    from tests.aws.test_aws_dev_inventory import policy_of

    for f in plan.of_type(FUNCTION):
        loaded = deployed_config(f)
        wanted = sorted(f"arn:aws:bedrock:{d.region}::foundation-model/{d.upstream_model}"
                        for d in loaded.deployments)
        assert {d.region for d in loaded.deployments} == {config.aws.region, config.aws.failover_region}
        bedrock = [s for s in policy_of(plan, f) if s["Sid"] == "InvokeConfiguredModels"]
        assert len(bedrock) == 1
        assert bedrock[0]["Resource"] == wanted
        assert set(bedrock[0]["Action"]) == {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}


def test_registered_adapters_build_from_the_jobs_config(moto):
    from skyrelay.runtime.jobs.config import QueueConfig, StoreConfig
    from skyrelay.runtime.jobs.model import Job, JobStatus, new_job_id
    from skyrelay.runtime.queues import make_queue
    from skyrelay.runtime.queues.sqs import SqsJobQueue
    from skyrelay.runtime.stores import make_store
    from skyrelay.runtime.stores.dynamodb import DynamoJobStore, create_table

    table = moto_server.unique("jobs")
    create_table(moto_server.client("dynamodb"), table)
    urls = moto_server.make_queues()
    store = make_store(StoreConfig(backend="dynamodb", options={"table": table, "endpoint_url": moto}))
    queue = make_queue(QueueConfig(backend="sqs", options={
        "interactive_url": urls["interactive"], "batch_url": urls["batch"], "endpoint_url": moto}))
    assert isinstance(store, DynamoJobStore) and isinstance(queue, SqsJobQueue)

    async def go():
        import time

        now = time.time()
        job = Job(id=new_job_id(), tenant="t", status=JobStatus.PENDING, request={"model": "fast"}, model="fast",
                  created_at=now, updated_at=now, expires_at=now + 600)
        await store.create(job)
        await queue.enqueue(job.id, "batch")
        got = await queue.receive(1)
        await got[0].ack()
        found = await store.get(job.id)
        await store.close()
        await queue.close()
        return job, got, found

    job, got, found = asyncio.run(go())
    assert got[0].job_id == job.id and got[0].priority == "batch"
    assert found.id == job.id


def test_adapter_factories_name_the_missing_setting(monkeypatch):
    from skyrelay.runtime.jobs.config import QueueConfig, StoreConfig
    from skyrelay.runtime.queues import make_queue
    from skyrelay.runtime.stores import make_store

    for var in ("SKYRELAY_JOBS_TABLE", "SKYRELAY_QUEUE_INTERACTIVE_URL", "SKYRELAY_QUEUE_BATCH_URL"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ValueError, match="jobs.store.options.table"):
        make_store(StoreConfig(backend="dynamodb"))
    with pytest.raises(ValueError, match="jobs.queue.options.interactive_url"):
        make_queue(QueueConfig(backend="sqs"))


def test_lambda_runtime_uses_the_json_client_not_botocore(moto, monkeypatch):
    env = {"SKYRELAY_JOBS_TABLE": "t", "SKYRELAY_QUEUE_INTERACTIVE_URL": "http://q/i", "SKYRELAY_QUEUE_BATCH_URL":
           "http://q/b", "SKYRELAY_AWS_ENDPOINT_URL": moto}
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    from tests.routerkit import make_config

    store, queue = bootstrap.store_and_queue(bootstrap.jobs_config(make_config(), env, AWS))
    assert isinstance(store.client, awsjson.AwsJsonClient) and isinstance(queue.client, awsjson.AwsJsonClient)
    assert store.client.service == "dynamodb" and queue.client.service == "sqs"


def json_client(service, moto):
    return awsjson.AwsJsonClient(service, "us-east-1", moto, ("testing", "testing", None))


def test_json_client_speaks_dynamodb_with_botocore_error_codes(moto):
    from skyrelay.runtime.stores.dynamodb import create_table

    table = moto_server.unique("json")
    create_table(moto_server.client("dynamodb"), table)
    c = json_client("dynamodb", moto)
    key = {"pk": {"S": "a"}, "sk": {"S": "b"}}
    c.put_item(TableName=table, Item={**key, "n": {"N": "1"}}, ConditionExpression="attribute_not_exists(pk)")
    assert c.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]["n"] == {"N": "1"}
    with pytest.raises(awsjson.AwsError) as err:
        c.put_item(TableName=table, Item=key, ConditionExpression="attribute_not_exists(pk)")
    assert err.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    # what botocore sees is the same item
    assert moto_server.client("dynamodb").get_item(TableName=table, Key=key)["Item"]["n"] == {"N": "1"}
    c.close()


def test_json_client_speaks_sqs_and_secrets_manager(moto):
    urls = moto_server.make_queues()
    sqs = json_client("sqs", moto)
    sent = sqs.send_message(QueueUrl=urls["interactive"], MessageBody=json.dumps({"job_id": "j"}))
    got = sqs.receive_message(QueueUrl=urls["interactive"], MaxNumberOfMessages=1,
                              MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert got[0]["MessageId"] == sent["MessageId"] and got[0]["Attributes"]["ApproximateReceiveCount"] == "1"
    with pytest.raises(awsjson.AwsError) as err:
        sqs.get_queue_url(QueueName=moto_server.unique("missing"))
    assert err.value.response["Error"]["Code"] in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
    sqs.close()

    name = moto_server.unique("secret")
    arn = moto_server.client("secretsmanager").create_secret(Name=name, SecretString="whsec_abc")["ARN"]
    loaded = load_secrets({"SKYRELAY_PROVIDER_X_SECRET_ARN": arn}, client=json_client("secretsmanager", moto))
    assert loaded == {"SKYRELAY_PROVIDER_X_SECRET": "whsec_abc"}


def test_deployed_router_builds_the_dynamodb_limiter_on_the_job_table(plan):
    from skyrelay.runtime.router.limits import make_limiter
    from skyrelay.runtime.router.limits.dynamodb import DynamoDbLimiter
    from tests.aws.test_api_key_auth import deployed_config, raw_env

    for f in plan.of_type(FUNCTION):
        env = raw_env(f)
        assert deployed_config(f).limiter.table is None  # the rendered config names no table
        loaded = deployed_config(f, deployment=AWS)
        assert loaded.limiter.backend == "dynamodb" and loaded.limiter.table == env["SKYRELAY_JOBS_TABLE"]
        lim = make_limiter(loaded.limiter)
        assert isinstance(lim, DynamoDbLimiter) and lim.table == env["SKYRELAY_JOBS_TABLE"]


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_on_lambda_a_per_instance_limiter_becomes_the_shared_dynamodb_one(tmp_path, backend):
    import yaml

    from tests.routerkit import config_dict

    doc = config_dict()
    doc["limiter"] = {"backend": backend}
    env = {"SKYRELAY_CONFIG_JSON": json.dumps(doc), "SKYRELAY_JOBS_TABLE": "jobs-t"}
    shared = bootstrap.router_config(env, deployment=AWS).limiter
    assert (shared.backend, shared.table) == ("dynamodb", "jobs-t")
    # off Lambda's environment (no job table) the config is left as written
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert bootstrap.router_config({"SKYRELAY_CONFIG": str(path)}, deployment=AWS).limiter.backend == backend
