"""Lambda cold start of the packaged runtime: zip size, then cold import + first invocation of the
worker and API handlers, each in a fresh Python 3.12 interpreter running the extracted zip (its
.pyc), against loopback peers: a moto server (DynamoDB, SQS) and the provider simulator.

    .venv/bin/python bench/lambda_cold.py [--runs 5] [--json]

The Lambda runtime provides boto3 (with its bytecode); here a copy of the venv's boto3/botocore,
compiled for 3.12, plays its part (after the zip on sys.path, as on Lambda). Targets: zip <= 5 MB, worker cold start
(import + first invocation, plus the one TLS context that HTTPS peers need on Lambda when the run,
whose peers are plain HTTP on loopback, did not build it) <= 250 ms. Interpreter start-up itself is reported apart: on Lambda it
is the runtime's INIT, before the handler module is imported. With a hashed CA directory the context
loads no root up front (runtime/tls.py); the handshake, and the one root it loads, are
not charged, as the loopback peers make no handshake.

The router config is examples/local.yaml pointed at the simulator, with what the AWS stack deploys:
the job store and queue on DynamoDB and SQS, and the `fast` model's Bedrock primary signed with
SigV4 from the credentials in the environment (as on Lambda).

Every figure is printed beside baselines measured in the same run, interleaved with the handler
runs, so a loaded machine moves both: a bare interpreter (`python3.12 -S -c pass`) and an interpreter
that imports botocore and builds one DynamoDB client (what any boto-based handler pays at least).
Ratios to those baselines are comparable across machines and runs; the wall-clock figures are not.
CPU time (process_time) is reported beside wall time because the cold path's I/O is loopback.
"""

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
import zipfile
from pathlib import Path

import coldstart

ROOT = Path(__file__).resolve().parent.parent
BOTO = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
PRO_KEY = "sk-demo-pro"
BOTO_BASELINE = (
    "import botocore.session; botocore.session.get_session().create_client('dynamodb', region_name='us-east-1')"
)

CHILD = r"""
import json, sys, time
c0 = time.process_time()
t0 = time.perf_counter()
import importlib
mod = importlib.import_module(sys.argv[1])
t1 = time.perf_counter()
out = mod.handler(json.load(open(sys.argv[2])), None)
t2 = time.perf_counter()
c2 = time.process_time()
# The loopback peers speak plain HTTP; on Lambda the first call's peers (AWS, Bedrock) are HTTPS and
# need the process's one TLS context (the CA bundle load). Charged here when the run did not build it.
tls_ms = 0.0
import skyrelay.runtime.tls as tls  # noqa: E402 (after the measured part)

if tls._TLS == []:
    t = time.perf_counter()
    tls.tls_context()
    tls_ms = (time.perf_counter() - t) * 1000
t2b = time.perf_counter()
mod.handler(json.load(open(sys.argv[3])), None)  # a second, warm invocation: the same work without cold costs
t3 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "invoke_ms": (t2 - t1) * 1000, "total_ms": (t2 - t0) * 1000,
                  "tls_ms": tls_ms, "with_tls_ms": (t2 - t0) * 1000 + tls_ms,
                  "warm_ms": (t3 - t2b) * 1000, "cpu_ms": (c2 - c0) * 1000,
                  "botocore_loaded": "botocore" in sys.modules, "out": out if isinstance(out, dict) else str(out)}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[0]} exited") from None
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def main() -> int:
    ap = coldstart.parser(importtime=False)
    ap.add_argument("--aws-client", choices=("json", "botocore"), default="json",
                    help="botocore: the handlers' AWS calls through botocore, as before awsjson (for comparison)")
    ap.add_argument("--config", choices=("file", "json", "yaml"), default="file",
                    help="file: skyrelay-router.json in the zip root (SKYRELAY_CONFIG), as the AWS blueprint "
                         "deploys it (default); json: the router config in SKYRELAY_CONFIG_JSON (as before); "
                         "yaml: a skyrelay.yaml file in the zip root")
    args = ap.parse_args()

    from skyrelay.components.aws.packaging import build_lambda_zip
    from skyrelay.components.packaging import find_python

    py312 = find_python("3.12")
    if py312 is None:
        print("no Python 3.12 interpreter found: cannot run the Lambda-Python bench", file=sys.stderr)
        return 1
    t = time.perf_counter()
    zip_path = build_lambda_zip()
    build_s = time.perf_counter() - t
    size = zip_path.stat().st_size
    unzipped = sum(i.file_size for i in zipfile.ZipFile(zip_path).infolist())

    bin_dir = Path(sys.executable).parent
    procs = []
    work = Path(tempfile.mkdtemp(prefix="lambda-cold-"))
    try:
        moto_port, sim_port = free_port(), free_port()
        procs.append(subprocess.Popen([str(bin_dir / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen([str(bin_dir / "skyrelay"), "simulate", "--port", str(sim_port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        moto = f"http://127.0.0.1:{moto_port}"
        wait_http(moto + "/moto-api/", procs[0])
        wait_http(f"http://127.0.0.1:{sim_port}/_sim/", procs[1])
        os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")

        task = work / "task"
        zipfile.ZipFile(zip_path).extractall(task)
        config = (ROOT / "examples" / "local.yaml").read_text().replace("127.0.0.1:8090", f"127.0.0.1:{sim_port}")
        config = re.sub(r"(?ms)^jobs:.*?(?=^\S|\Z)", "", config)  # the AWS runtime decides store/queue
        # as deployed (blueprints/aws.py): the limiter on the job table, not the local SQLite file
        config = re.sub(r"(?ms)^limiter:.*?(?=^\S|\Z)", "limiter:\n  backend: dynamodb\n", config)
        # as deployed (blueprints/aws.py): Bedrock, the `fast` model's primary, signs with SigV4
        config, signed = re.subn(r"(provider: bedrock\b[^\n]*\n(?:(?!  - name:).*\n)*?\s+auth:) none", r"\1 sigv4", config)
        assert signed == 1, "examples/local.yaml: no Bedrock deployment to sign for"
        (task / "skyrelay.yaml").write_text(config)
        if args.config in ("json", "file"):  # what blueprints/aws.py renders (now a file in the zip)
            import yaml

            text = json.dumps(yaml.safe_load(config), separators=(",", ":"))
            if args.config == "json":
                config_env = {"SKYRELAY_CONFIG_JSON": text}
            else:
                (task / "skyrelay-router.json").write_text(text)
                config_env = {"SKYRELAY_CONFIG": "skyrelay-router.json"}
        else:
            config_env = {"SKYRELAY_CONFIG": "skyrelay.yaml"}
        boto = work / "boto"
        boto.mkdir()
        site = Path(__import__("botocore").__file__).parent.parent
        for name in BOTO:  # the Lambda runtime's boto3 comes with its bytecode: compile ours for 3.12 too
            src = site / name
            if src.is_dir():
                shutil.copytree(src, boto / name, ignore=shutil.ignore_patterns("__pycache__"))
            elif src.exists():
                shutil.copy(src, boto / name)
        subprocess.run([py312, "-m", "compileall", "-q", "-j", "0", str(boto)], check=True)

        env = aws_resources(moto)
        env.update({
            "PYTHONPATH": f"{task}:{boto}", "LAMBDA_TASK_ROOT": str(task), **config_env,
            "SKYRELAY_AWS_ENDPOINT_URL": moto, "SKYRELAY_MAX_RECEIVE_COUNT": "5",
            "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
            "PYTHONDONTWRITEBYTECODE": "1", "PATH": os.environ.get("PATH", ""),  # nothing compiles in the run
            "SKYRELAY_AWS_CLIENT": args.aws_client,
        })
        (work / "child.py").write_text(Path(os.environ["BENCH_CHILD"]).read_text() if os.environ.get("BENCH_CHILD") else CHILD)
        results = {"worker": [], "api": []}
        startup, boto_start = [], []
        for _ in range(args.runs):
            startup.append(coldstart.bare_ms(py312, env))
            t = time.perf_counter()
            subprocess.run([py312, "-c", BOTO_BASELINE], check=True, env=env)
            boto_start.append((time.perf_counter() - t) * 1000)
            api_events = [work / "api1.json", work / "api2.json"]
            for f in api_events:
                f.write_text(json.dumps(rest_event({"model": "fast", "prompt": "cold start"})))
            results["api"].append(child(py312, work, "skyrelay.runtime.platforms.aws_lambda.api", api_events, env))
            worker_events = [work / "worker1.json", work / "worker2.json"]
            for f in worker_events:
                f.write_text(json.dumps(sqs_event(env)))
            results["worker"].append(child(py312, work, "skyrelay.runtime.platforms.aws_lambda.worker",
                                           worker_events, env))
        report = {
            "zip_bytes": size, "zip_mb": round(size / 1e6, 2), "unzipped_mb": round(unzipped / 1e6, 2),
            "build_s": round(build_s, 2), "python": py312, "runs": args.runs, "config": args.config,
            "interpreter_start_ms_median": round(statistics.median(startup), 1),
            "botocore_baseline_ms_median": round(statistics.median(boto_start), 1),
        }
        bare, boto_base = report["interpreter_start_ms_median"], report["botocore_baseline_ms_median"]
        for name, runs in results.items():
            report.update(coldstart.summarize(runs, ("import_ms", "invoke_ms", "total_ms", "tls_ms", "with_tls_ms", "warm_ms",
                                           "cpu_ms"), prefix=f"{name}_"))
            # the handler's process: interpreter start + import + first invocation, over the baselines
            process_ms = bare + report[f"{name}_total_ms_median"]
            report[f"{name}_cold_vs_bare_python"] = round(process_ms / bare, 1)
            report[f"{name}_cold_vs_botocore_baseline"] = round(process_ms / boto_base, 2)
            report[f"{name}_cold_with_tls_vs_bare_python"] = round((bare + report[f"{name}_with_tls_ms_median"]) / bare, 1)
            report[f"{name}_botocore_loaded"] = any(r["botocore_loaded"] for r in runs)
            report[f"{name}_last_result"] = runs[-1]["out"]
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print(f"zip: {report['zip_mb']} MB ({size:,} bytes; {report['unzipped_mb']} MB unzipped; target <= 5 MB)")
            shown = {"file": "skyrelay-router.json in the zip (as deployed)", "json": "SKYRELAY_CONFIG_JSON",
                     "yaml": "skyrelay.yaml"}[args.config]
            print(f"router config: {shown}")
            print(f"baseline, same run: bare interpreter (python3.12 -S -c pass) {bare} ms; interpreter + botocore "
                  f"import + one DynamoDB client {boto_base} ms (medians of {args.runs})")
            for name in ("worker", "api"):
                print(f"{name}: cold import {report[f'{name}_import_ms_median']} ms + first invocation "
                      f"{report[f'{name}_invoke_ms_median']} ms = {report[f'{name}_total_ms_median']} ms median "
                      f"(max {report[f'{name}_total_ms_max']} ms, CPU {report[f'{name}_cpu_ms_median']} ms) over "
                      f"{args.runs} fresh interpreters; warm: {report[f'{name}_warm_ms_median']} ms")
                print(f"    + the TLS context HTTPS peers need on Lambda (loopback peers are plain HTTP): "
                      f"{report[f'{name}_tls_ms_median']} ms -> {report[f'{name}_with_tls_ms_median']} ms median "
                      f"({report[f'{name}_cold_with_tls_vs_bare_python']}x a bare interpreter)")
                print(f"    with interpreter start = {report[f'{name}_cold_vs_bare_python']}x a bare interpreter, "
                      f"{report[f'{name}_cold_vs_botocore_baseline']}x the botocore baseline; botocore imported: "
                      f"{report[f'{name}_botocore_loaded']}")
            print(f"worker result: {report['worker_last_result']}")
            status = report["api_last_result"].get("statusCode") if isinstance(report["api_last_result"], dict) else "?"
            print(f"api result: HTTP {status}")
        ok = size <= 5 * 1024 * 1024 and report["worker_with_tls_ms_median"] <= 250
        return 0 if ok else 1
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


def aws_resources(moto: str) -> dict:
    """The table and queues AsyncJobs deploys, on moto; returns the functions' environment."""
    import boto3

    from skyrelay.runtime.stores.dynamodb import create_table

    kw = {"endpoint_url": moto, "region_name": "us-east-1"}
    table = f"bench-{uuid.uuid4().hex[:8]}"
    create_table(boto3.client("dynamodb", **kw), table)
    sqs = boto3.client("sqs", **kw)
    urls = {}
    for priority in ("interactive", "batch"):
        dlq = sqs.create_queue(QueueName=f"{table}-{priority}-dlq")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        urls[priority] = sqs.create_queue(
            QueueName=f"{table}-{priority}",
            Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})},
        )["QueueUrl"]
    return {"SKYRELAY_JOBS_TABLE": table, "SKYRELAY_QUEUE_INTERACTIVE_URL": urls["interactive"],
            "SKYRELAY_QUEUE_BATCH_URL": urls["batch"]}


def sqs_event(env: dict) -> dict:
    """Submits a job through the venv's runtime (the API's job) and turns its SQS message into an event."""
    import asyncio

    import boto3

    from skyrelay.runtime.queues.sqs import SqsJobQueue
    from skyrelay.runtime.stores.dynamodb import DynamoJobStore

    moto = env["SKYRELAY_AWS_ENDPOINT_URL"]

    async def submit():
        store = DynamoJobStore(env["SKYRELAY_JOBS_TABLE"], endpoint_url=moto)
        queue = SqsJobQueue(env["SKYRELAY_QUEUE_INTERACTIVE_URL"], env["SKYRELAY_QUEUE_BATCH_URL"], endpoint_url=moto)
        job = coldstart.cold_job()
        await store.create(job)
        await queue.enqueue(job.id)
        await store.close()
        await queue.close()

    asyncio.run(submit())
    sqs = boto3.client("sqs", endpoint_url=moto, region_name="us-east-1")
    url = env["SKYRELAY_QUEUE_INTERACTIVE_URL"]
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60,
                               MessageSystemAttributeNames=["All"])["Messages"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                         "attributes": m["Attributes"], "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                         "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "us-east-1"} for m in msgs]}


def rest_event(body: dict) -> dict:
    headers = {"content-type": "application/json", "x-api-key": PRO_KEY, "host": "x.execute-api.us-east-1.amazonaws.com"}
    return {"resource": "/v1/jobs", "path": "/v1/jobs", "httpMethod": "POST", "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()}, "queryStringParameters": None,
            "multiValueQueryStringParameters": None, "pathParameters": None, "stageVariables": None,
            "requestContext": {"resourcePath": "/v1/jobs", "httpMethod": "POST", "path": "/v1/v1/jobs", "stage": "v1",
                               "identity": {"sourceIp": "203.0.113.7"}, "requestId": "bench"},
            "body": json.dumps(body), "isBase64Encoded": False}


def child(py: str, work: Path, module: str, events: list[Path], env: dict) -> dict:
    out = subprocess.run([py, str(work / "child.py"), module, *map(str, events)], env=env, capture_output=True,
                         text=True)
    if os.environ.get("BENCH_CHILD") and out.returncode == 0:
        print(out.stderr, file=sys.stderr)
    return coldstart.child_result(out, module)


if __name__ == "__main__":
    sys.exit(main())
