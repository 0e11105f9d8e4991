"""Dead-letter replay on AWS through `skyrelay jobs replay-dlq --deployment aws` (a subprocess with the
variables AsyncJobs sets), on a real moto server: a FAILED job whose message is in the DLQ (moved by
the redrive policy after maxReceiveCount) is counted by the dry run, then replayed: PENDING with
attempts reset and a `replayed` entry, a fresh message on its queue, the dead letter deleted. A dead
letter whose job is COMPLETE stays."""

import asyncio
import json
import os
import subprocess
import sys
import time

import yaml

from skyrelay.runtime.jobs.model import Job, JobStatus, new_job_id
from skyrelay.runtime.stores.dynamodb import DynamoJobStore, create_table
from tests.aws import moto_server
from tests.routerkit import config_dict


def cli(env: dict, tmp_path, *args) -> dict:
    config = tmp_path / "skyrelay.yaml"
    config.write_text(yaml.safe_dump(config_dict()))
    full = {k: v for k, v in os.environ.items() if not k.startswith("SKYRELAY_")} | env
    out = subprocess.run([sys.executable, "-m", "skyrelay.cli.main", "jobs", "replay-dlq", "--config", str(config),
                          "--deployment", "aws", "--json", *args], env=full, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def test_replay_dlq_on_sqs(tmp_path):
    url = moto_server.endpoint()
    sqs, ddb = moto_server.client("sqs"), moto_server.client("dynamodb")
    queues = moto_server.make_queues(max_receives=1, visibility_s=1)
    table = moto_server.unique("jobs")
    create_table(ddb, table)
    store = DynamoJobStore(table, client=ddb)
    now = time.time()

    def job(status):
        j = Job(id=new_job_id(), tenant="pro", status=status, request={"model": "fast", "messages": []},
                model="fast", created_at=now, updated_at=now, expires_at=now + 3600, attempts=3,
                error={"code": "upstream_server_error", "message": "x"} if status == JobStatus.FAILED else None)
        asyncio.run(store.create(j))
        return j

    failed, complete = job(JobStatus.FAILED), job(JobStatus.COMPLETE)
    for j in (failed, complete):  # each message received once without a delete: the redrive policy moves it
        sqs.send_message(QueueUrl=queues["interactive"], MessageBody=json.dumps({"job_id": j.id, "priority": "interactive"}))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        sqs.receive_message(QueueUrl=queues["interactive"], MaxNumberOfMessages=10, VisibilityTimeout=1)
        n = int(sqs.get_queue_attributes(QueueUrl=queues["interactive_dlq"], AttributeNames=["All"])
                ["Attributes"]["ApproximateNumberOfMessages"])
        if n == 2:
            break
        time.sleep(1.1)
    env = {"SKYRELAY_JOBS_TABLE": table, "SKYRELAY_AWS_ENDPOINT_URL": url,
           "SKYRELAY_QUEUE_INTERACTIVE_URL": queues["interactive"], "SKYRELAY_QUEUE_BATCH_URL": queues["batch"],
           "SKYRELAY_DLQ_INTERACTIVE_URL": queues["interactive_dlq"], "SKYRELAY_DLQ_BATCH_URL": queues["batch_dlq"],
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}

    dry = cli(env, tmp_path, "--dry-run")
    assert dry["count"] == 2 and dry["counts"] == {"would_replay": 1, "skipped_complete": 1}
    assert asyncio.run(store.get(failed.id)).status == JobStatus.FAILED

    report = cli(env, tmp_path)
    assert report["counts"] == {"replayed": 1, "skipped_complete": 1}
    replayed = asyncio.run(store.get(failed.id))
    assert (replayed.status, replayed.attempts, replayed.error) == (JobStatus.PENDING, 0, None)
    assert replayed.history[-1]["event"] == "replayed" and replayed.history[-1]["reason"] == "max_receives"
    fresh = sqs.receive_message(QueueUrl=queues["interactive"], MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["job_id"] for m in fresh] == [failed.id]
    time.sleep(0.2)
    left = sqs.receive_message(QueueUrl=queues["interactive_dlq"], MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["job_id"] for m in left] == [complete.id]  # the COMPLETE job's dead letter stays


def test_replay_dlq_bad_usage_exits_2_and_says_why(tmp_path):
    missing = subprocess.run([sys.executable, "-m", "skyrelay.cli.main", "jobs", "replay-dlq", "--config",
                              str(tmp_path / "nope.yaml")], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "nope.yaml" in missing.stderr
    config = tmp_path / "skyrelay.yaml"
    config.write_text(yaml.safe_dump(config_dict(jobs={"store": {"path": str(tmp_path / "j.db")}})))
    local = subprocess.run([sys.executable, "-m", "skyrelay.cli.main", "jobs", "replay-dlq", "--config", str(config)],
                           capture_output=True, text=True, timeout=60)
    assert local.returncode == 2 and "no dead-letter replay for queue backend 'sqlite'" in local.stderr
