"""The Cloud Tasks queue: one queue per priority (interactive, batch), each task an HTTP push to the
Cloud Run worker's /tasks (runtime/platforms/cloud_run), signed with an OIDC token for the Tasks
service account. Through `google-cloud-tasks` (REST transport: runtime/clouds/gcp/tasks.py).

Producer (`CloudTasksQueue`): a task per message, body `{"job_id", "priority"}` (JSON), with:
- `oidc_token`: service_account_email = TASKS_SERVICE_ACCOUNT, audience = OIDC_AUDIENCE (the worker
  checks both on every push, and the email: runtime/clouds/gcp/oidc.py);
- `dispatch_deadline` = DISPATCH_DEADLINE_SECONDS (skyrelay.deployment.dispatch_deadline: the worker
  timeout plus the settle, at most 30 minutes; the queue has no default of its own and the task's is
  10 minutes, shorter than many model calls: the task would be retried while the worker still runs);
- `schedule_time` = now + delay for a delayed message;
- a task name that de-duplicates where it fits: an immediate message is `<hash>-<job id>-<second>`,
  so enqueueing one job twice in one second (a submit retried after a lost answer, the sweeper racing
  the submit) is one task: Cloud Tasks refuses a name it has seen in the last hour (ALREADY_EXISTS),
  which the producer takes as done. A delayed message (a webhook retry) is always a new task
  (`<hash>-<job id>-d<random>`): it must not be swallowed by the task it follows. The short hash
  leads so that names do not sort by time (Cloud Tasks' advice against sequential names).
- `depth()` is None: Cloud Tasks has no cheap count (back-pressure rests on the tenants' limits and
  the queue's rate limits).

Delivery (`CloudTasksDelivery`): one push. Its `receive_count` is X-CloudTasks-TaskRetryCount + 1
(the retry count counts every failed attempt; TaskExecutionCount does not count 5xx answers, so it
would never reach the last attempt); `max_receives` is the queue's max_attempts (MAX_RECEIVE_COUNT).
It settles by the HTTP answer the worker gives (`status`):
- ack: 200; the task is deleted;
- retry(delay): 503, and the queue's own backoff decides the delay (per-task retry delays do not
  exist in Cloud Tasks). On the last attempt the queue then drops the task, as every queue gives a
  message up after max_receives: the worker never retries a job's last attempt (it fails it), and a
  job left PENDING by a retry there (over its tenant's rate limit, a shutdown) is re-enqueued by the
  sweeper (POST /sweep, Cloud Scheduler);
- dead_letter(reason): 200. Cloud Tasks has no dead-letter queue: the task is gone once answered (or
  after its last attempt), so the worker has marked the job FAILED with the reason first, and the
  FAILED jobs are what `skyrelay jobs replay-dlq --deployment gcp` replays (runtime/jobs/
  replay_firestore.py);
- extend: not possible (the dispatch deadline is fixed at creation): False;
- not settled (the handler crashed): 500, the queue retries after its backoff.
"""

import asyncio
import contextlib
import hashlib
import json
import time
import uuid

from skyrelay.deployment import (
    CLOUD_TASKS_MAX_DEADLINE_S,
    CLOUD_TASKS_MIN_DEADLINE_S,
    DISPATCH_DEADLINE_SECONDS,
)
from skyrelay.runtime.queues.base import Delivery, Message

PRIORITIES = ("interactive", "batch")
RETRY_STATUS = 503  # a non-2xx answer: the queue retries after its backoff
OK_STATUS = 200
CRASH_STATUS = 500


def task_id(job_id: str, now: float, delayed: bool = False) -> str:
    """The task id of a message for `job_id`: de-duplicating per second when immediate, unique when
    delayed (see the module docstring)."""
    tail = f"d{uuid.uuid4().hex[:12]}" if delayed else str(int(now))
    lead = hashlib.sha256(f"{job_id}:{tail}".encode()).hexdigest()[:8]
    return f"{lead}-{job_id}-{tail}"


def message_body(job_id: str, priority: str) -> bytes:
    return json.dumps({"job_id": job_id, "priority": priority}, separators=(",", ":")).encode()


class CloudTasksQueue:
    """The QueueProducer on Cloud Tasks (see the module docstring)."""

    def __init__(self, queues: dict[str, str], worker_url: str, service_account: str, audience: str | None = None,
                 *, dispatch_deadline_s: int | None = None, endpoint: str | None = None,
                 max_receives: int | None = None, clock=time.time):
        missing = [p for p in PRIORITIES if not queues.get(p)]
        if missing:
            raise ValueError(f"Cloud Tasks queue names missing for {missing}")
        self.queues = dict(queues)
        self.worker_url, self.service_account = worker_url, service_account
        self.audience = audience or worker_url
        self.dispatch_deadline_s = dispatch_deadline_s
        self.endpoint = endpoint
        self.max_receives = max_receives  # the queues' max_attempts, when the deployment says
        self.clock = clock

    def _task(self, job_id: str, priority: str, due: float, now: float):
        from google.cloud import tasks_v2
        from google.protobuf import duration_pb2, timestamp_pb2

        task = tasks_v2.Task(
            name=f"{self.queues[priority]}/tasks/{task_id(job_id, now, due > now)}",
            http_request=tasks_v2.HttpRequest(
                url=self.worker_url, http_method=tasks_v2.HttpMethod.POST,
                headers={"Content-Type": "application/json"}, body=message_body(job_id, priority),
                oidc_token=tasks_v2.OidcToken(service_account_email=self.service_account, audience=self.audience)))
        if self.dispatch_deadline_s:
            task.dispatch_deadline = duration_pb2.Duration(seconds=int(self.dispatch_deadline_s))
        if due > now:
            stamp = timestamp_pb2.Timestamp()
            stamp.FromNanoseconds(int(due * 1e9))
            task.schedule_time = stamp
        return task

    def _create(self, priority: str, task) -> str:
        from google.api_core.exceptions import AlreadyExists, Conflict

        from skyrelay.runtime.clouds.gcp.tasks import tasks_client

        # ALREADY_EXISTS: this job's immediate task of this second exists, or did within the hour: de-duplicated
        with contextlib.suppress(AlreadyExists, Conflict):
            tasks_client(self.endpoint).create_task(parent=self.queues[priority], task=task)
        return task.name.rsplit("/", 1)[-1]

    # ---- producer ----
    async def enqueue(self, job_id: str, priority: str = "interactive", delay_s: float = 0.0) -> str:
        if priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {list(PRIORITIES)}")
        now = self.clock()
        task = self._task(job_id, priority, now + max(0.0, delay_s), now)
        return await asyncio.to_thread(self._create, priority, task)

    async def depth(self) -> int | None:
        return None  # see the module docstring

    async def close(self) -> None:
        return None  # the REST client is the process's (runtime/clouds/gcp/tasks.py)


def header(headers, name: str) -> str | None:
    """A header by name, case-insensitively, from a mapping or a Starlette Headers."""
    value = headers.get(name)
    if value is None:
        lower = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lower), None)
    return value


def parse_push(headers, body: bytes, queue_priorities: dict[str, str] | None = None) -> Message:
    """A Message from a Cloud Tasks push: its body (job id, priority) and X-CloudTasks-* headers.
    KeyError/ValueError/TypeError: not a job push."""
    doc = json.loads(body)
    job_id = doc["job_id"]
    if not isinstance(job_id, str) or not job_id:
        raise ValueError("job_id must be a non-empty string")
    task = header(headers, "X-CloudTasks-TaskName")
    if not task:
        raise KeyError("X-CloudTasks-TaskName")
    retries = int(header(headers, "X-CloudTasks-TaskRetryCount") or 0)
    queue = header(headers, "X-CloudTasks-QueueName") or ""
    priority = doc.get("priority") or (queue_priorities or {}).get(queue) or "interactive"
    eta = header(headers, "X-CloudTasks-TaskETA")
    return Message(id=task, job_id=job_id, priority=priority, receive_count=retries + 1, receipt=task,
                   enqueued_at=float(eta) if eta else time.time())


class CloudTasksDelivery(Delivery):
    """One Cloud Tasks push in the worker's hand; `status` is the HTTP answer it settled to (None: not
    settled, answered 500). See the module docstring."""

    __slots__ = ("queue", "status")
    dead_letter_queue = False

    def __init__(self, queue: CloudTasksQueue, message: Message):
        super().__init__(message, queue.max_receives)
        self.queue = queue
        self.status: int | None = None

    @classmethod
    def from_push(cls, queue: CloudTasksQueue, headers, body: bytes) -> "CloudTasksDelivery":
        names = {q.rsplit("/", 1)[-1]: p for p, q in queue.queues.items()}
        return cls(queue, parse_push(headers, body, names))

    @property
    def answer(self) -> int:
        return CRASH_STATUS if self.status is None else self.status

    async def ack(self) -> bool:
        self.status = OK_STATUS
        return True

    async def retry(self, delay_s: float = 0.0) -> bool:
        self.status = RETRY_STATUS
        return True

    async def extend(self, seconds: float) -> bool:
        return False

    async def dead_letter(self, reason: str) -> bool:
        self.status = OK_STATUS  # the job is FAILED with the reason; the task goes
        return True


def from_config(cfg, store_cfg=None) -> CloudTasksQueue:
    """Factory for runtime.queues.ADAPTERS (`jobs.queue.backend: cloudtasks`), from the queue config's
    `options`: `interactive_queue`, `batch_queue` (full queue names), `worker_url`, `service_account`
    (required), `audience` (default: the worker URL), `dispatch_deadline_s`, `endpoint` (a peer, tests).
    On Cloud Run, bootstrap fills them from the variables AsyncJobs sets."""
    options = dict(getattr(cfg, "options", None) or {})
    for name in ("interactive_queue", "batch_queue", "worker_url", "service_account"):
        if not options.get(name):
            raise ValueError(f"jobs.queue.options.{name}: required for the cloudtasks backend")
    deadline = options.get("dispatch_deadline_s")
    if deadline and not CLOUD_TASKS_MIN_DEADLINE_S <= float(deadline) <= CLOUD_TASKS_MAX_DEADLINE_S:
        raise ValueError(f"jobs.queue.options.dispatch_deadline_s ({DISPATCH_DEADLINE_SECONDS}): {deadline} is outside "
                         f"Cloud Tasks' {CLOUD_TASKS_MIN_DEADLINE_S}..{CLOUD_TASKS_MAX_DEADLINE_S} s (the 30-minute ceiling)")
    return CloudTasksQueue({p: options[f"{p}_queue"] for p in PRIORITIES}, options["worker_url"],
                           options["service_account"], options.get("audience"),
                           dispatch_deadline_s=int(deadline) if deadline else None, endpoint=options.get("endpoint"),
                           max_receives=cfg.max_receives)
