"""Point 8, batch inference scheduled for non-real-time jobs.

The row logic is one (docs/batch.md): a batch queue that something consumes, the batcher's
schedule, the batch storage on the runtime, and at least one deployment with a `batch` section, so
batch-mode jobs are collected into provider batch jobs instead of running on demand. Each cloud maps
its resources to a `BatchPath`:
- AWS: the batch SQS queue with an event source mapping, an EventBridge target sending the worker
  BATCH_EVENT, BATCH_BUCKET and BATCH_ROLE_ARN on a function;
- Azure: the batch Service Bus queue the Function App binds (its queue-name setting), the
  `batcher` timer function in the package the app runs (read from the zip), the batch container;
- GCP: the batch Cloud Tasks queue on the runtime, a Cloud Scheduler job POSTing the worker's
  /batch, the batch bucket.
"""

import json
import re
import zipfile
from dataclasses import dataclass, field

from skyrelay import deployment as contract
from skyrelay.check.model import Row, judged
from skyrelay.check.subject import Subject

TITLE = "Batch inference scheduled for non-real-time jobs"
QUEUE = "aws:sqs/queue:Queue"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
SB_QUEUE = "azure-native:servicebus:Queue"
BLOB = "azure-native:storage:Blob"
BLOB_CONTAINER = "azure-native:storage:BlobContainer"
TASKS_QUEUE = "gcp:cloudtasks/queue:Queue"
SCHEDULER_JOB = "gcp:cloudscheduler/job:Job"
BUCKET = "gcp:storage/bucket:Bucket"
AZURE_APP_MODULE = "skyrelay/runtime/platforms/azure_functions/function_app.py"
FIX = "build the batch path (AsyncJobs `batch: True`) and give deployments a `batch:` section (docs/batch.md)"


@dataclass
class BatchPath:
    queue: str | None = None  # the batch queue and what consumes it, or None
    schedule: str | None = None  # the batcher's schedule, or None
    storage: str | None = None  # the batch storage the runtime names, or None
    problems: list[str] = field(default_factory=list)


def check(subject: Subject) -> Row:
    mapping = {"aws": _aws, "azure": _azure, "gcp": _gcp}.get(subject.cloud)
    if mapping is None:
        return judged(8, TITLE, [f"batch is not built for {subject.cloud}"], [], FIX)
    path = mapping(subject)
    problems, warnings, evidence = list(path.problems), [], []
    for what, value, missing in (("batch queue", path.queue, "no consumed batch queue: batch-priority jobs have "
                                                               "nowhere to wait"),
                                 ("batcher schedule", path.schedule, "no batcher schedule: nothing forms and polls "
                                                                     "provider batch jobs"),
                                 ("batch storage", path.storage, "no batch storage on the runtime")):
        if value:
            evidence.append(f"{what}: {value}")
        else:
            problems.append(missing)
    cfg = subject.router
    if cfg is None:
        warnings.append(f"the router config is not in the plan ({subject.router_error or 'unknown at preview'}): "
                        "which deployments batch cannot be told; pass --router-config")
    else:
        batched = [d.name for d in cfg.deployments if d.batch is not None]
        if batched:
            evidence.append(f"batch-mode jobs go to provider batch jobs on {', '.join(batched)}")
        else:
            problems.append("no deployment has a `batch` section: batch-mode jobs run on demand")
    return judged(8, TITLE, problems, evidence, FIX, warnings)


def _aws(subject: Subject) -> BatchPath:
    out = BatchPath()
    envs = [subject.function_env(f) for f in subject.functions()]
    queue_url = next((e[contract.queue_url("batch")] for e in envs if contract.queue_url("batch") in e), None)
    queue = next((q for q in subject.of_type(QUEUE) if queue_url and _names(q, str(queue_url).rsplit("/", 1)[-1])),
                 None)
    if queue is not None:
        mapped = [m for m in subject.of_type(MAPPING) if queue.urn in m.property_dependencies.get("eventSourceArn", [])]
        if mapped:
            out.queue = f"{queue.name}, consumed by {mapped[0].name} (batch size {mapped[0].inputs.get('batchSize')})"
        else:
            out.problems.append(f"batch queue {queue.name} has no event source mapping: nothing consumes it")
    rules = {r.urn: r for r in subject.of_type(RULE)}
    for t in subject.of_type(TARGET):
        if _event(t) == contract.BATCH_EVENT:
            rule = next((rules[u] for u in t.property_dependencies.get("rule", []) if u in rules), None)
            out.schedule = f"{t.name}: {rule.inputs.get('scheduleExpression') if rule else '?'}"
    worker = [e for e in envs if contract.BATCH_BUCKET in e and contract.BATCH_ROLE_ARN in e]
    if worker:
        out.storage = f"bucket {worker[0][contract.BATCH_BUCKET]} and Bedrock's batch role"
    return out


def _azure(subject: Subject) -> BatchPath:
    out = BatchPath()
    source = next((t for t in (_azure_source((b.inputs.get("source") or {}).get("path")) for b in subject.of_type(BLOB))
                   if t), "")
    for app, env in subject.runtimes():
        if app.type != "azure-native:web:WebApp":
            continue
        name = env.get(contract.queue_name("batch"))
        queue = next((q for q in subject.of_type(SB_QUEUE) if q.inputs.get("queueName") == name), None)
        bound = re.search(r'function_name\("batch"\)\s*\n\s*@app\.service_bus_queue_trigger\(', source)
        if queue is not None and bound:
            out.queue = f"Service Bus {name}, consumed by the `batch` function of {app.name}"
        elif queue is not None:
            out.problems.append(f"Service Bus queue {name}: no `batch` queue trigger in the package the app runs")
        container = str(env.get(contract.BATCH_BUCKET) or "").rstrip("/").rsplit("/", 1)[-1]
        if container and any(c.inputs.get("containerName") == container for c in subject.of_type(BLOB_CONTAINER)):
            out.storage = f"blob container {container}"
    if re.search(r'function_name\("batcher"\)\s*\n\s*@app\.timer_trigger\([^)]*schedule=BATCH_SCHEDULE', source):
        m = re.search(r'^BATCH_SCHEDULE = "([^"]+)"', source, re.M)
        out.schedule = f"timer function `batcher` in the app's package: {m.group(1) if m else '?'} (NCRONTAB)"
    return out


def _azure_source(path: str | None) -> str | None:
    """The Function App's entry module, from the Functions package (zip) the app runs."""
    if not path or not str(path).endswith(".zip"):
        return None
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.read(AZURE_APP_MODULE).decode()
    except (OSError, KeyError, zipfile.BadZipFile):
        return None


def _gcp(subject: Subject) -> BatchPath:
    out = BatchPath()
    envs = [env for r, env in subject.runtimes() if r.type == "gcp:cloudrunv2/service:Service"]
    queue_id = next((e.get(contract.tasks_queue("batch")) for e in envs if e.get(contract.tasks_queue("batch"))), None)
    queue = next((q for q in subject.of_type(TASKS_QUEUE)
                  if queue_id and str(queue_id).endswith(f"/queues/{q.inputs.get('name')}")), None)
    if queue is not None:
        out.queue = f"Cloud Tasks {queue.inputs.get('name')}, dispatched to the worker"
    for job in subject.of_type(SCHEDULER_JOB):
        target = job.inputs.get("httpTarget") or {}
        if str(target.get("uri", "")).endswith("/batch") and target.get("httpMethod") == "POST":
            out.schedule = f"Cloud Scheduler {job.name}: {job.inputs.get('schedule')} -> POST {target['uri']}"
    bucket = next((e.get(contract.BATCH_BUCKET) for e in envs if e.get(contract.BATCH_BUCKET)), None)
    if bucket and any(b.inputs.get("name") == bucket or (not b.inputs.get("name") and (b.name == bucket or _names(b, bucket)))
                      for b in subject.of_type(BUCKET)):
        out.storage = f"bucket {bucket}"
    return out


def _names(queue, physical: str) -> bool:
    """Whether `physical` (the last segment of a queue URL) is `queue`'s name: its `name` input, or the
    engine's autoname (the logical name, a dash and a random suffix)."""
    if queue.inputs.get("name"):
        return physical == queue.inputs["name"]
    return re.fullmatch(re.escape(queue.name) + r"-[0-9a-f]{7,8}", physical) is not None


def _event(target) -> dict | None:
    try:
        return json.loads(target.inputs.get("input") or "null")
    except ValueError:
        return None
