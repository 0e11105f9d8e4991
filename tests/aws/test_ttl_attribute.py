"""The job table's TTL attribute travels once, from the component to the runtime: with
`table_ttl_attribute` overridden, the table's TTL, the worker's TTL_ATTRIBUTE variable and the
attribute the DynamoDB store writes on every record are the same name, so DynamoDB's TTL deletes
the records (the defect: the store wrote `expires_at` whatever the table expired on)."""

import asyncio
import time

from skyrelay import deployment as contract
from skyrelay.runtime.jobs.model import Job, JobStatus, new_job_id
from skyrelay.runtime.platforms import bootstrap
from skyrelay.runtime.platforms.aws_lambda.runtime import AWS
from tests.aws import moto_server
from tests.routerkit import make_config

FUNCTION = "aws:lambda/function:Function"


def test_an_overridden_ttl_attribute_is_the_one_records_expire_on(tmp_path, render_program):
    (tmp_path / "__main__.py").write_text(
        "from skyrelay.components.aws import AsyncJobs\n"
        "AsyncJobs('jobs', {'code_path': 'x.zip', 'overrides': {'table_ttl_attribute': 'purge_at'}})\n")
    plan = render_program(tmp_path, {})
    table = plan.one("aws:dynamodb/table:Table")
    assert table.inputs["ttl"] == {"attributeName": "purge_at", "enabled": True}
    worker = plan.one(FUNCTION)
    env = dict(worker.inputs["environment"]["variables"])
    assert env[contract.TTL_ATTRIBUTE] == "purge_at"

    # The runtime, started from that environment, against a table with that TTL on moto.
    ddb = moto_server.client("dynamodb")
    name = moto_server.unique("jobs")
    from skyrelay.runtime.stores.dynamodb import create_table

    create_table(ddb, name)
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "purge_at"})
    env.update({contract.JOBS_TABLE: name, contract.AWS_ENDPOINT_URL: moto_server.endpoint()})
    jobs = bootstrap.jobs_config(make_config(), env, AWS)
    store, queue = bootstrap.store_and_queue(jobs)
    now = time.time()
    job = Job(id=new_job_id(), tenant="t", status=JobStatus.PENDING, request={"model": "fast"}, model="fast",
              created_at=now, updated_at=now, expires_at=now + 600, idempotency_key="k1")

    async def go():
        await store.create(job)
        await store.transition(job.id, [JobStatus.PENDING], JobStatus.PROCESSING, {"attempts": 1})
        await store.close()
        await queue.close()

    asyncio.run(go())
    ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]["AttributeName"]
    items = ddb.scan(TableName=name)["Items"]
    assert sorted(i["sk"]["S"] for i in items) == ["IDEM", "JOB"]  # the job and its idempotency record
    for item in items:  # both expire: each carries the table's TTL attribute in epoch seconds
        assert item[ttl] == {"N": str(int(job.expires_at))}
        assert "expires_at" not in item
