"""The AWS deployment's batch path on a real moto server: the environment AsyncJobs writes (the batch
bucket and Bedrock's batch role among it) is all `bootstrap.start(AWS)` needs; the API Lambda takes a
`mode: batch` job (its chunk lands in S3), the worker Lambda answers the batcher's schedule event
(deployment.BATCH_EVENT) with one tick, Bedrock's batch API (the simulator, reading and writing that S3
bucket) answers, and the job completes at the batch price. The tick's lines go out as CloudWatch EMF."""

import json
import uuid

import pytest

from skyrelay import deployment as contract
from tests.aws import moto_server
from tests.aws.test_lambda_e2e import rest_event
from tests.batch.kit import sim_batch
from tests.routerkit import PRO_KEY, sha

ROLE = "arn:aws:iam::123456789012:role/skyrelay-batch"


@pytest.fixture
def started(sim, monkeypatch):
    from skyrelay.runtime.platforms.aws_lambda import runtime
    from skyrelay.runtime.stores.dynamodb import create_table

    endpoint = moto_server.endpoint()
    sim_batch(sim.base_url, "POST", "/reset")
    sim_batch(sim.base_url, "POST", "", {"endpoints": {"s3_endpoint_url": endpoint}})
    urls = moto_server.make_queues(3)
    table = moto_server.unique("jobs")
    create_table(moto_server.client("dynamodb"), table)
    bucket = "batch-" + uuid.uuid4().hex[:12]
    moto_server.client("s3").create_bucket(Bucket=bucket)
    config = {"deployments": [{"name": "fast-bedrock", "model": "fast", "provider": "bedrock", "auth": "none",
                               "upstream_model": "anthropic.claude-3-haiku-20240307-v1:0", "endpoint": sim.base_url,
                               "price": {"input": 0.002, "output": 0.004}, "batch": {"max_wait_s": 0}}],
              "models": {"fast": {"deployments": ["fast-bedrock"]}},
              "tenants": [{"name": "pro", "tier": "professional", "api_keys": [sha(PRO_KEY)]}],
              "limiter": {"backend": "memory"}, "cache": {"enabled": False}}
    env = {contract.CONFIG_JSON: json.dumps(config), contract.JOBS_TABLE: table, contract.AWS_ENDPOINT_URL: endpoint,
           contract.queue_url("interactive"): urls["interactive"], contract.queue_url("batch"): urls["batch"],
           contract.BATCH_BUCKET: bucket, contract.BATCH_ROLE_ARN: ROLE, contract.MAX_RECEIVE_COUNT: "3"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return runtime.start(env), bucket


def test_the_worker_answers_the_batch_schedule_and_the_job_completes_at_the_batch_price(started, sim, capsys):
    from skyrelay.runtime.platforms.aws_lambda import api, worker

    s, bucket = started
    assert s.jobs.batch.storage.backend == "s3" and s.jobs.batch.storage.options["bucket"] == bucket
    assert s.config.deployment("fast-bedrock").batch.role_arn == ROLE  # from BATCH_ROLE_ARN
    app = api.make_handler(api.build_app(s.config, s.store, s.queue, s.jobs))
    out = app(rest_event("POST", "/v1/jobs", {"model": "fast", "prompt": "batched on lambda", "mode": "batch"}))
    assert out["statusCode"] == 202, out
    job_id = json.loads(out["body"])["id"]
    keys = [o["Key"] for o in moto_server.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert [k.split("/")[0] for k in keys] == ["pending"]
    handler = worker.make_handler(s.store, s.queue, None, s.jobs, s.config)
    capsys.readouterr()
    done = handler(contract.BATCH_EVENT)
    assert done["groups_formed"] == 1, done
    got = json.loads(app(rest_event("GET", f"/v1/jobs/{job_id}"))["body"])
    assert got["status"] == "COMPLETE" and got["mode"] == "batch", got
    assert got["cost"] == pytest.approx((got["usage"]["input_tokens"] * 0.001 + got["usage"]["output_tokens"] * 0.002)
                                        / 1000)
    assert sim_batch(sim.base_url)["counts"] == {"bedrock:created": 1}
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert any(e["Mode"] == "batch" and e["Jobs"] == 1 and e["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "skyrelay"
               for e in emf), emf
    assert handler({"skyrelay": "batch"})["groups_formed"] == 0  # a second tick: nothing left to do


def test_the_openai_batch_api_through_api_gateway_and_the_scheduled_worker(started, sim):
    """POST /v1/files (multipart, as the openai SDK sends it), POST /v1/batches and GET .../content through
    the API Lambda's REST events; the content comes back as text (not base64: no binary media types)."""
    from skyrelay.runtime.platforms.aws_lambda import api, worker

    s, bucket = started
    app = api.make_handler(api.build_app(s.config, s.store, s.queue, s.jobs))
    lines = b"".join(json.dumps({"custom_id": f"c{i}", "method": "POST", "url": "/v1/chat/completions", "body": {
        "model": "fast", "messages": [{"role": "user", "content": f"lambda line {i}"}], "max_tokens": 3}}).encode()
        + b"\n" for i in range(3))
    body = (b'--xyz\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
            b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="in.jsonl"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n" + lines + b"\r\n--xyz--\r\n")
    event = rest_event("POST", "/v1/files")
    event["headers"]["content-type"] = "multipart/form-data; boundary=xyz"
    event["multiValueHeaders"]["content-type"] = ["multipart/form-data; boundary=xyz"]
    event["body"] = body.decode()
    out = app(event)
    assert out["statusCode"] == 200, out
    file_id = json.loads(out["body"])["id"]
    out = app(rest_event("POST", "/v1/batches", {"input_file_id": file_id, "endpoint": "/v1/chat/completions",
                                                 "completion_window": "24h"}))
    assert out["statusCode"] == 200, out
    batch_id = json.loads(out["body"])["id"]
    handler = worker.make_handler(s.store, s.queue, None, s.jobs, s.config)
    handler(contract.BATCH_EVENT)
    batch = json.loads(app(rest_event("GET", f"/v1/batches/{batch_id}"))["body"])
    assert batch["status"] == "completed" and batch["request_counts"] == {"total": 3, "completed": 3, "failed": 0}
    content = app(rest_event("GET", f"/v1/files/{batch['output_file_id']}/content"))
    assert content["statusCode"] == 200 and not content.get("isBase64Encoded"), content
    got = sorted(json.loads(x)["custom_id"] for x in content["body"].splitlines())
    assert got == ["c0", "c1", "c2"]
