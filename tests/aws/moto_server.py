"""One real moto server per test process, on a free loopback port (`moto_server -H 127.0.0.1 -p N`).

`endpoint()` starts it on first use and stops it at exit; `None` when moto[server] is not installed.
Each user makes uniquely named queues/tables, so tests share the server without a reset.
"""

import atexit
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

_server: dict = {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _binary() -> str | None:
    here = Path(sys.executable).parent / "moto_server"
    return str(here) if here.exists() else shutil.which("moto_server")


def endpoint() -> str | None:
    if "url" in _server:
        return _server["url"]
    binary = _binary()
    if binary is None:
        return None
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                return None
            time.sleep(0.1)
    else:
        proc.kill()
        return None
    atexit.register(_stop, proc)
    _server.update(url=url, proc=proc)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return url


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


def client(service: str):
    import boto3

    return boto3.client(
        service, endpoint_url=endpoint(), region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def make_queues(max_receives: int = 5, visibility_s: int = 30) -> dict[str, str]:
    """An interactive and a batch queue, each with its own DLQ and redrive policy, as AsyncJobs
    deploys them. Returns their URLs: interactive, batch, interactive_dlq, batch_dlq."""
    import json

    sqs = client("sqs")
    urls = {}
    for priority in ("interactive", "batch"):
        name = unique(f"jobs-{priority}")
        dlq = sqs.create_queue(QueueName=f"{name}-dlq", Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives})
        urls[priority] = sqs.create_queue(
            QueueName=name, Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": str(visibility_s)}
        )["QueueUrl"]
        urls[f"{priority}_dlq"] = dlq
    return urls
