"""End to end on a real moto server: the API Lambda handler (Mangum around the ASGI app) submits,
a real SQS message is received, the worker Lambda handler gets a genuine SQS event built from it,
DynamoDB is updated, and the API handler polls COMPLETE. Then: a poison message reaches the DLQ
after maxReceiveCount with its job FAILED; a duplicate delivery completes once; a partial batch
failure returns only the failed message ids.

The test plays the Lambda service's part: it polls SQS like an event source mapping, builds the
event, and deletes the records the handler did not report as failed.
"""

import json
import time

import orjson
import pytest

from skyrelay.runtime.canonical import ChatResult, Usage
from skyrelay.runtime.errors import UpstreamServerError
from tests.aws import moto_server
from tests.faults import BrokenReads
from tests.routerkit import PRO_KEY, make_config

MAX_RECEIVES = 2


class Generate:
    """A fake model call that fails (retryably) for the prompt `poison`, and counts calls."""

    def __init__(self):
        self.calls: dict[str, int] = {}

    async def __call__(self, request, tenant, preference=None):
        prompt = request.messages[0].content
        self.calls[prompt] = self.calls.get(prompt, 0) + 1
        if prompt.startswith("poison"):
            raise UpstreamServerError("provider keeps failing")
        return ChatResult(f"echo {prompt}", Usage(3, 0, 0, 2), "stop", "fake-model")


@pytest.fixture
def aws():
    moto_server.endpoint()  # a missing moto[server] fails here (tests/peers.py)
    from skyrelay.runtime.jobs.config import JobsConfig
    from skyrelay.runtime.platforms.aws_lambda import api, worker
    from skyrelay.runtime.queues.sqs import SqsJobQueue
    from skyrelay.runtime.stores.dynamodb import DynamoJobStore, create_table

    urls = moto_server.make_queues(MAX_RECEIVES, visibility_s=30)
    table = moto_server.unique("jobs")
    create_table(moto_server.client("dynamodb"), table)
    jobs_cfg = JobsConfig.model_validate({
        "store": {"backend": "dynamodb"},
        "queue": {"backend": "sqs", "visibility_timeout_s": 30, "max_receives": MAX_RECEIVES},
        "worker": {"max_attempts": MAX_RECEIVES, "backoff_base_s": 0.01, "backoff_max_s": 0.05},
    })
    config = make_config()
    api_store = DynamoJobStore(table, client=moto_server.client("dynamodb"))
    api_queue = SqsJobQueue(urls["interactive"], urls["batch"], client=moto_server.client("sqs"))
    worker_store = DynamoJobStore(table, client=moto_server.client("dynamodb"))
    worker_queue = SqsJobQueue(urls["interactive"], urls["batch"], client=moto_server.client("sqs"),
                               max_receives=MAX_RECEIVES)
    generate = Generate()
    ns = type("AwsKit", (), {})()
    ns.urls, ns.generate, ns.store = urls, generate, worker_store
    ns.api = api.make_handler(api.build_app(config, api_store, api_queue, jobs_cfg))
    ns.worker = worker.make_handler(worker_store, worker_queue, generate, jobs_cfg)
    ns.sqs = moto_server.client("sqs")
    return ns


def rest_event(method: str, path: str, body=None, key: str = PRO_KEY) -> dict:
    """An API Gateway REST (v1) proxy event, as the stage sends it to the API Lambda."""
    headers = {"content-type": "application/json", "x-api-key": key, "host": "abc.execute-api.us-east-1.amazonaws.com"}
    path_only, _, query = path.partition("?")
    params = dict(p.split("=", 1) for p in query.split("&")) if query else None
    return {
        "resource": path_only,
        "path": path_only,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": params,
        "multiValueQueryStringParameters": {k: [v] for k, v in params.items()} if params else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path_only, "httpMethod": method, "path": f"/v1{path_only}", "stage": "v1",
            "identity": {"sourceIp": "203.0.113.7", "apiKeyId": "k1"}, "requestId": "r1",
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def call_api(kit, method, path, body=None):
    out = kit.api(rest_event(method, path, body))
    return out["statusCode"], orjson.loads(out["body"]) if out.get("body") else None


def poll(kit, priority: str = "interactive", wait_s: float = 10.0, visibility_s: int = 30) -> list[dict]:
    """What the event source mapping does: receive (waiting for delayed/invisible messages)."""
    end = time.monotonic() + wait_s
    while time.monotonic() < end:
        got = kit.sqs.receive_message(
            QueueUrl=kit.urls[priority], MaxNumberOfMessages=10, VisibilityTimeout=visibility_s,
            MessageSystemAttributeNames=["All"], WaitTimeSeconds=1,
        ).get("Messages", [])
        if got:
            return got
    return []


def sqs_event(kit, messages: list[dict], priority: str = "interactive") -> dict:
    """A genuine Lambda SQS event from received messages."""
    arn = kit.sqs.get_queue_attributes(QueueUrl=kit.urls[priority], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m["Attributes"], "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
        "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "us-east-1",
    } for m in messages]}


def invoke_worker(kit, messages, priority="interactive") -> dict:
    """Invoke the worker like Lambda does, then delete the records not reported as failed."""
    out = kit.worker(sqs_event(kit, messages, priority))
    failed = {f["itemIdentifier"] for f in out["batchItemFailures"]}
    for m in messages:
        if m["MessageId"] not in failed:
            kit.sqs.delete_message(QueueUrl=kit.urls[priority], ReceiptHandle=m["ReceiptHandle"])
    return out


def depth(kit, url_key: str) -> int:
    attrs = kit.sqs.get_queue_attributes(QueueUrl=kit.urls[url_key], AttributeNames=["All"])["Attributes"]
    return sum(int(attrs[k]) for k in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                         "ApproximateNumberOfMessagesDelayed"))


def test_submit_receive_work_and_poll_complete(aws):
    status, job = call_api(aws, "POST", "/v1/jobs", {"model": "fast", "prompt": "hello"})
    assert status == 202 and job["status"] == "PENDING"
    messages = poll(aws)
    assert [json.loads(m["Body"])["job_id"] for m in messages] == [job["id"]]
    status, seen = call_api(aws, "GET", f"/v1/jobs/{job['id']}")
    assert status == 200 and seen["status"] == "PENDING"

    out = invoke_worker(aws, messages)
    assert out == {"batchItemFailures": []}
    status, done = call_api(aws, "GET", f"/v1/jobs/{job['id']}")
    assert status == 200 and done["status"] == "COMPLETE"
    assert done["result"]["text"] == "echo hello" and done["usage"]["total_tokens"] == 5
    assert depth(aws, "interactive") == 0
    status, page = call_api(aws, "GET", "/v1/jobs")
    assert status == 200 and [j["id"] for j in page["data"]] == [job["id"]]


def test_poison_message_reaches_the_dlq_after_max_receive_count_and_its_job_fails(aws):
    _, job = call_api(aws, "POST", "/v1/jobs", {"model": "fast", "prompt": "poison"})
    for receives in range(1, MAX_RECEIVES + 1):
        messages = poll(aws)
        assert len(messages) == 1
        assert int(messages[0]["Attributes"]["ApproximateReceiveCount"]) == receives
        invoke_worker(aws, messages)
    assert poll(aws, wait_s=2) == []  # nothing comes back: it is in the DLQ
    dead = aws.sqs.receive_message(QueueUrl=aws.urls["interactive_dlq"], MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["job_id"] for m in dead] == [job["id"]]
    _, failed = call_api(aws, "GET", f"/v1/jobs/{job['id']}")
    assert failed["status"] == "FAILED" and failed["error"]["code"] == "upstream_server_error"
    assert failed["attempts"] == MAX_RECEIVES == aws.generate.calls["poison"]


def test_crashing_record_is_redriven_by_sqs_and_its_job_failed_on_the_last_delivery(aws):
    from skyrelay.runtime.jobs.config import JobsConfig
    from skyrelay.runtime.platforms.aws_lambda import worker
    from skyrelay.runtime.queues.sqs import SqsJobQueue

    _, job = call_api(aws, "POST", "/v1/jobs", {"model": "fast", "prompt": "hello"})
    queue = SqsJobQueue(aws.urls["interactive"], aws.urls["batch"], client=moto_server.client("sqs"),
                        max_receives=MAX_RECEIVES)
    crashing = worker.make_handler(BrokenReads(aws.store, job["id"]), queue, aws.generate, JobsConfig())
    for receive in range(1, MAX_RECEIVES + 1):
        messages = poll(aws, visibility_s=1)  # failed records come back after the visibility timeout
        out = crashing(sqs_event(aws, messages))
        assert out["batchItemFailures"] == [{"itemIdentifier": messages[0]["MessageId"]}]
        status = call_api(aws, "GET", f"/v1/jobs/{job['id']}")[1]["status"]
        assert status == ("FAILED" if receive == MAX_RECEIVES else "PENDING")
    assert poll(aws, wait_s=3, visibility_s=1) == []
    dead = aws.sqs.receive_message(QueueUrl=aws.urls["interactive_dlq"]).get("Messages", [])
    assert [json.loads(m["Body"])["job_id"] for m in dead] == [job["id"]]  # moved by the redrive policy
    failed = call_api(aws, "GET", f"/v1/jobs/{job['id']}")[1]
    assert failed["error"]["code"] == "poison_message" and aws.generate.calls == {}


def test_duplicate_delivery_completes_once(aws):
    _, job = call_api(aws, "POST", "/v1/jobs", {"model": "fast", "prompt": "once"})
    aws.sqs.send_message(QueueUrl=aws.urls["interactive"],  # at-least-once: the same job again
                         MessageBody=json.dumps({"job_id": job["id"], "priority": "interactive"}))
    messages = []
    while len(messages) < 2:
        messages += poll(aws)
    assert len({json.loads(m["Body"])["job_id"] for m in messages}) == 1
    first = invoke_worker(aws, messages[:1])
    second = invoke_worker(aws, messages[1:])
    assert first == second == {"batchItemFailures": []}
    _, done = call_api(aws, "GET", f"/v1/jobs/{job['id']}")
    assert done["status"] == "COMPLETE" and done["attempts"] == 1
    assert aws.generate.calls["once"] == 1
    assert depth(aws, "interactive") == 0


def test_partial_batch_failure_returns_only_the_failed_ids(aws):
    ids = [call_api(aws, "POST", "/v1/jobs", {"model": "fast", "prompt": p})[1]["id"]
           for p in ("fine-1", "poison-2", "fine-3")]
    messages = []
    while len(messages) < 3:
        messages += poll(aws)
    by_job = {json.loads(m["Body"])["job_id"]: m["MessageId"] for m in messages}
    out = invoke_worker(aws, messages)
    assert out == {"batchItemFailures": [{"itemIdentifier": by_job[ids[1]]}]}
    statuses = [call_api(aws, "GET", f"/v1/jobs/{i}")[1]["status"] for i in ids]
    assert statuses == ["COMPLETE", "PROCESSING", "COMPLETE"]
    assert depth(aws, "interactive") == 1  # only the failed one remains, for redelivery
