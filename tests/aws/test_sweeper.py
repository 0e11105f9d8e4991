"""The sweeper on AWS: an EventBridge schedule invokes the worker Lambda, which calls
`Sweeper.sweep_once()`; DynamoJobStore answers its query from the sparse `by_status` index.
Rendered inventory (rule, target, permission, least-privilege statements) and the handler
against a real moto server."""

import json
import time

import pytest

from skyrelay.runtime.jobs.model import Job, JobStatus, new_job_id
from tests.aws import moto_server
from tests.aws.test_aws_dev_inventory import policy_of

FUNCTION = "aws:lambda/function:Function"


@pytest.fixture(scope="module")
def plan():
    from skyrelay.plan import render_stack

    return render_stack("aws-dev")[0]


@pytest.mark.parametrize(("name", "event", "schedule"), [("jobs-sweeper", "SWEEP_EVENT", "rate(1 minute)"),
                                                     ("jobs-batcher", "BATCH_EVENT", "rate(5 minutes)")])
def test_a_schedule_invokes_the_worker_with_its_event_and_only_it_may(plan, name, event, schedule):
    from skyrelay import deployment

    event = getattr(deployment, event)
    recognised = deployment.is_sweep if name == "jobs-sweeper" else deployment.is_batch_tick
    worker = next(f for f in plan.of_type(FUNCTION) if f.name == "jobs-worker")
    rule = next(r for r in plan.of_type("aws:cloudwatch/eventRule:EventRule") if r.name == name)
    assert rule.inputs["scheduleExpression"] == schedule
    target = next(t for t in plan.of_type("aws:cloudwatch/eventTarget:EventTarget") if t.name == name)
    assert target.inputs["arn"].endswith(f":function:{worker.inputs['name']}:live")  # the warm pool's alias
    assert json.loads(target.inputs["input"]) == event and recognised(event)
    assert not (deployment.is_sweep(event) and deployment.is_batch_tick(event))
    perms = [p for p in plan.of_type("aws:lambda/permission:Permission")
             if p.inputs["principal"] == "events.amazonaws.com" and p.name == name]
    assert len(perms) == 1
    assert perms[0].inputs["function"] == worker.inputs["name"] and perms[0].inputs["qualifier"] == "live"
    # only this rule may invoke it (the source ARN is the rule's own ARN, not a wildcard)
    assert perms[0].property_dependencies["sourceArn"] == [rule.urn]
    assert "*" not in perms[0].inputs["sourceArn"]
    assert target.inputs["retryPolicy"]["maximumRetryAttempts"] == 0  # the next tick retries


def test_worker_may_requeue_to_its_own_queues_and_query_only_the_status_index(plan):
    fns = {f.name: f for f in plan.of_type(FUNCTION)}
    worker = policy_of(plan, fns["jobs-worker"])
    table = next(s for s in worker if s["Sid"] == "JobTableReadWrite")["Resource"][0]
    consume = next(s for s in worker if s["Sid"] == "ConsumeOwnQueues")["Resource"]
    requeue = next(s for s in worker if s["Sid"] == "RequeueToOwnQueues")
    assert requeue["Action"] == ["sqs:SendMessage"] and requeue["Resource"] == consume
    index = next(s for s in worker if s["Sid"] == "QueryStatusIndex")
    assert index["Action"] == ["dynamodb:Query"] and index["Resource"] == [f"{table}/index/by_status"]
    # the API lists a tenant's jobs through by_tenant (and may query nothing else by index)
    api = policy_of(plan, fns["api-handler"])
    tenant_index = next(s for s in api if s["Sid"] == "QueryTenantIndex")
    assert tenant_index["Resource"] == [f"{table}/index/by_tenant"]
    assert not any("/index/" in r for s in api if s["Sid"] != "QueryTenantIndex"
                   for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]))


@pytest.fixture
def kit():
    moto_server.endpoint()  # a missing moto[server] fails here (tests/peers.py)
    from skyrelay.runtime.jobs.config import JobsConfig
    from skyrelay.runtime.queues.sqs import SqsJobQueue
    from skyrelay.runtime.stores.dynamodb import DynamoJobStore, create_table

    urls = moto_server.make_queues(3, visibility_s=30)
    table = moto_server.unique("jobs")
    create_table(moto_server.client("dynamodb"), table)
    cfg = JobsConfig.model_validate({"store": {"backend": "dynamodb"}, "queue": {"backend": "sqs"},
                                     "worker": {"sweep_grace_s": 30}})
    ns = type("Kit", (), {})()
    ns.urls, ns.cfg = urls, cfg
    ns.store = DynamoJobStore(table, client=moto_server.client("dynamodb"))
    ns.queue = SqsJobQueue(urls["interactive"], urls["batch"], client=moto_server.client("sqs"))
    ns.sqs = moto_server.client("sqs")
    ns.ddb, ns.table = moto_server.client("dynamodb"), table
    return ns


def job(age_s: float, tenant="acme") -> Job:
    t = time.time() - age_s
    return Job(id=new_job_id(), tenant=tenant, status=JobStatus.PENDING,
               request={"model": "fast", "messages": [{"role": "user", "content": "hi"}]},
               model="fast", created_at=t, updated_at=t, expires_at=t + 3600)


def test_the_scheduled_invocation_requeues_a_pending_job_without_a_message(kit):
    from skyrelay.deployment import SWEEP_EVENT
    from skyrelay.runtime.platforms.aws_lambda import runtime
    from skyrelay.runtime.platforms.aws_lambda.worker import make_handler

    lost, fresh, running = job(120), job(1), job(200, tenant="other")
    loop = runtime.loop()
    for j in (lost, fresh, running):
        loop.run_until_complete(kit.store.create(j))
    loop.run_until_complete(kit.store.transition(running.id, [JobStatus.PENDING], JobStatus.PROCESSING,
                                                 {"claim": {"message": "m1", "until": time.time() + 60}}))
    handle = make_handler(kit.store, kit.queue, generate=None, cfg=kit.cfg)
    assert handle(dict(SWEEP_EVENT)) == {"requeued": 1}
    got = kit.sqs.receive_message(QueueUrl=kit.urls["interactive"], MaxNumberOfMessages=10, WaitTimeSeconds=1)
    assert [json.loads(m["Body"])["job_id"] for m in got.get("Messages", [])] == [lost.id]
    after = loop.run_until_complete(kit.store.get(lost.id))
    assert after.status == JobStatus.PENDING and after.history[-1]["event"] == "requeued"
    # the claim merged into the stored document; a job that left PENDING is out of the sparse index
    claimed = loop.run_until_complete(kit.store.get(running.id))
    assert claimed.claim["message"] == "m1"
    item = kit.ddb.get_item(TableName=kit.table, Key={"pk": {"S": f"JOB#{running.id}"}, "sk": {"S": "JOB"}})["Item"]
    assert "gsi2pk" not in item and "gsi2sk" not in item
    pending = kit.ddb.get_item(TableName=kit.table, Key={"pk": {"S": f"JOB#{fresh.id}"}, "sk": {"S": "JOB"}})["Item"]
    assert pending["gsi2pk"]["S"].startswith("STATUS#PENDING#")
    # touched by the requeue: not stale again until the (doubled) grace has passed
    assert handle(dict(SWEEP_EVENT)) == {"requeued": 0}


def test_stale_pages_across_shards_oldest_first(kit):
    from skyrelay.runtime.platforms.aws_lambda import runtime

    loop = runtime.loop()
    jobs = [job(100 + i) for i in range(12)]
    for j in jobs:
        loop.run_until_complete(kit.store.create(j))
    oldest_first = [j.id for j in sorted(jobs, key=lambda j: j.updated_at)]
    got = loop.run_until_complete(kit.store.stale(JobStatus.PENDING, time.time() - 50, limit=5))
    assert [j.id for j in got] == oldest_first[:5]
    with pytest.raises(ValueError):
        loop.run_until_complete(kit.store.stale(JobStatus.PROCESSING, time.time()))


def test_stale_skips_expired_items_ahead_of_live_ones_in_every_shard(kit):
    """Expired PENDING items (TTL deletion lags) sort first in their shard; the query filters them and
    the merge reads on, so the oldest live job still comes first."""
    from skyrelay.runtime.platforms.aws_lambda import runtime

    loop = runtime.loop()
    for _ in range(12):
        dead = job(500)
        dead.expires_at = time.time() - 100
        loop.run_until_complete(kit.store.create(dead))
    a, b = job(300), job(200)
    for j in (b, a):
        loop.run_until_complete(kit.store.create(j))
    assert [j.id for j in loop.run_until_complete(kit.store.stale(JobStatus.PENDING, time.time() - 50, limit=1))] == [a.id]
    assert [j.id for j in loop.run_until_complete(kit.store.stale(JobStatus.PENDING, time.time() - 50))] == [a.id, b.id]
