"""Point 8, batch inference scheduled for non-real-time jobs.

On AWS (docs/batch.md): a batch queue with an event source mapping to the worker, the batcher's
schedule (an EventBridge rule whose target sends the worker BATCH_EVENT), the batch bucket and
role on the worker, and at least one deployment with a `batch` section, so batch-mode jobs are
collected into provider batch jobs instead of running on demand.
"""

import json
import re

from skyrelay import deployment as contract
from skyrelay.check.model import Row, judged
from skyrelay.check.subject import Subject

TITLE = "Batch inference scheduled for non-real-time jobs"
QUEUE = "aws:sqs/queue:Queue"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
FIX = "build the batch path (AsyncJobs `batch: True`) and give deployments a `batch:` section (docs/batch.md)"


def check(subject: Subject) -> Row:
    if subject.cloud != "aws":
        return judged(8, TITLE, [f"batch is not built for {subject.cloud} yet"], [], FIX)
    problems, evidence = [], []
    envs = [subject.function_env(f) for f in subject.functions()]
    queue_url = next((e[contract.queue_url("batch")] for e in envs if contract.queue_url("batch") in e), None)
    queue = next((q for q in subject.of_type(QUEUE) if queue_url and _names(q, str(queue_url).rsplit("/", 1)[-1])),
                 None)
    if queue is None:
        problems.append("no batch queue: batch-priority jobs have nowhere to wait")
    else:
        mapped = [m for m in subject.of_type(MAPPING) if queue.urn in m.property_dependencies.get("eventSourceArn", [])]
        if mapped:
            evidence.append(f"batch queue {queue.name}, consumed by {mapped[0].name} (batch size "
                            f"{mapped[0].inputs.get('batchSize')})")
        else:
            problems.append(f"batch queue {queue.name} has no event source mapping: nothing consumes it")
    ticks = [t for t in subject.of_type(TARGET) if _event(t) == contract.BATCH_EVENT]
    rules = {r.urn: r for r in subject.of_type(RULE)}
    if not ticks:
        problems.append("no batcher schedule: no EventBridge target sends the worker the batch event")
    for t in ticks:
        rule = next((rules[u] for u in t.property_dependencies.get("rule", []) if u in rules), None)
        evidence.append(f"batcher schedule {t.name}: {rule.inputs.get('scheduleExpression') if rule else '?'}")
    worker = [e for e in envs if contract.BATCH_BUCKET in e and contract.BATCH_ROLE_ARN in e]
    if not worker:
        problems.append(f"no function has {contract.BATCH_BUCKET} and {contract.BATCH_ROLE_ARN}")
    cfg = subject.router
    batched = [d.name for d in cfg.deployments if d.batch is not None] if cfg else []
    if not batched:
        problems.append("no deployment has a `batch` section: batch-mode jobs run on demand")
    else:
        evidence.append(f"batch-mode jobs go to provider batch jobs on {', '.join(batched)}")
    return judged(8, TITLE, problems, evidence, FIX)


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
