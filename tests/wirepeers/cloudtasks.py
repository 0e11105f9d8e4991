"""An in-project Cloud Tasks peer for the tests: the Cloud Tasks v2 REST surface that the real
`google-cloud-tasks` client talks to (`transport="rest"`, `api_endpoint` on loopback), and the push
side of the service, which calls the worker.

    python -m tests.wirepeers.cloudtasks <port>

The API (JSON over HTTP, the v2 REST mapping; enums as numbers, `enum-encoding=int`):
- POST /v2/projects/P/locations/L/queues (CreateQueue) and GET .../queues/Q: a queue with its
  `retryConfig` (maxAttempts, maxRetryDuration, minBackoff, maxBackoff, maxDoublings) and
  `rateLimits` (maxDispatchesPerSecond, maxConcurrentDispatches);
- POST .../queues/Q/tasks (CreateTask): an HTTP task (url, method, headers, base64 body, oidcToken),
  `scheduleTime` and `dispatchDeadline` (15 s..30 min, default 10 min); a task name that exists, or
  existed (a deleted or finished task's name stays taken: the service keeps it ~1 hour), is refused
  409 ALREADY_EXISTS; no name: the peer picks one;
- GET / DELETE .../tasks/T (GetTask, DeleteTask); 404 NOT_FOUND for a task that is not there.

The push, as the service does it:
- a task is dispatched once its scheduleTime has passed, within the queue's rate limits, as an HTTP
  request to its url with the task's headers and body, `User-Agent: Google-Cloud-Tasks`, the
  `X-CloudTasks-*` headers (QueueName, TaskName, TaskRetryCount, TaskExecutionCount, TaskETA, and
  TaskPreviousResponse / TaskRetryReason on a retry) and, with an oidcToken, `Authorization: Bearer`
  an RS256 ID token (iss https://accounts.google.com, aud = the audience or else the url, email = the
  service account, email_verified) signed by this peer's key, published as a JWKS at /oauth2/v3/certs;
- a 2xx answer deletes the task. Anything else (another status, a refused connection, no answer
  within the dispatch deadline: DEADLINE_EXCEEDED, while the handler may still be running) is a
  failed attempt: retried after the queue's backoff (minBackoff doubling maxDoublings times, then
  linear, capped at maxBackoff), until maxAttempts attempts (and maxRetryDuration) are spent; then the
  task is deleted: Cloud Tasks has no dead-letter queue. ExecutionCount does not count 5xx answers.

Control, for the tests (what Cloud Monitoring and the logs show for a real queue):
- GET /control/queues/<full name>: {tasks, in_flight, dispatched, succeeded, exhausted: [task ids]};
- POST /control/token {aud, email, exp_in_s}: an ID token signed by the peer's key (wrong audiences
  and identities, made the way the peer makes the right ones);
- POST /control/push {task, times}: dispatch a task again now, concurrently (a duplicate push).
"""

import base64
import heapq
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.client import HTTPException
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://accounts.google.com"
KID = "skyrelay-peer-" + uuid.uuid4().hex[:8]
DEFAULT_DEADLINE_S, MIN_DEADLINE_S, MAX_DEADLINE_S = 600.0, 15.0, 1800.0
TICK_S = 0.01
QUEUE = re.compile(r"^/v2/(projects/[^/]+/locations/[^/]+/queues/[^/:]+)$")
QUEUES = re.compile(r"^/v2/(projects/[^/]+/locations/[^/]+)/queues$")
TASKS = re.compile(r"^/v2/(projects/[^/]+/locations/[^/]+/queues/[^/]+)/tasks$")
TASK = re.compile(r"^/v2/((projects/[^/]+/locations/[^/]+/queues/[^/]+)/tasks/[^/]+)$")

_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_lock = threading.RLock()


def duration(text, default: float) -> float:
    """A protobuf Duration in JSON ("3.5s") in seconds."""
    return float(str(text).rstrip("s")) if text not in (None, "") else default


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str | None, default: float) -> float:
    if not text:
        return default
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def id_token(aud: str, email: str, exp_in_s: float = 3600.0) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": aud, "azp": "1" + str(abs(hash(email)))[:20], "sub": str(abs(hash(email))),
              "email": email, "email_verified": True, "iat": now, "exp": now + int(exp_in_s)}
    return jwt.encode(claims, _key, algorithm="RS256", headers={"kid": KID})


def jwks() -> dict:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(_key.public_key()))
    return {"keys": [{**public, "kid": KID, "alg": "RS256", "use": "sig"}]}


class Queue:
    def __init__(self, name: str, doc: dict):
        retry, rates = doc.get("retryConfig") or {}, doc.get("rateLimits") or {}
        self.name = name
        self.max_attempts = int(retry.get("maxAttempts", 100) or 100)
        self.max_retry_s = duration(retry.get("maxRetryDuration"), 0.0)
        self.min_backoff = duration(retry.get("minBackoff"), 0.1)
        self.max_backoff = duration(retry.get("maxBackoff"), 3600.0)
        self.max_doublings = int(retry.get("maxDoublings", 16) or 0)
        self.rate = float(rates.get("maxDispatchesPerSecond", 500) or 500)
        self.concurrency = int(rates.get("maxConcurrentDispatches", 1000) or 1000)
        self.tasks: dict[str, dict] = {}
        self.used: set[str] = set()  # names taken: live, deleted and finished tasks
        self.ready: list[tuple[float, int, str]] = []  # (schedule time, seq, task name)
        self.in_flight = 0
        self.tokens, self.refilled = 1.0, time.monotonic()
        self.stats = {"dispatched": 0, "succeeded": 0, "exhausted": []}

    def doc(self) -> dict:
        return {"name": self.name, "state": 1, "retryConfig": {
            "maxAttempts": self.max_attempts, "maxRetryDuration": f"{self.max_retry_s}s",
            "minBackoff": f"{self.min_backoff}s", "maxBackoff": f"{self.max_backoff}s",
            "maxDoublings": self.max_doublings},
            "rateLimits": {"maxDispatchesPerSecond": self.rate, "maxConcurrentDispatches": self.concurrency}}

    def backoff(self, retries: int) -> float:
        """The wait before retry number `retries` (1 = the first retry)."""
        k = retries - 1
        if k <= self.max_doublings:
            wait = self.min_backoff * 2 ** k
        else:
            wait = self.min_backoff * 2 ** self.max_doublings * (k - self.max_doublings + 1)
        return min(wait, self.max_backoff)

    def may_dispatch(self) -> bool:
        now = time.monotonic()
        self.tokens = min(max(1.0, self.rate), self.tokens + (now - self.refilled) * self.rate)
        self.refilled = now
        return self.in_flight < self.concurrency and self.tokens >= 1.0


class State:
    def __init__(self):
        self.queues: dict[str, Queue] = {}
        self.seq = 0
        self.pool = ThreadPoolExecutor(max_workers=256, thread_name_prefix="push")

    def schedule(self, q: Queue, name: str, at: float) -> None:
        self.seq += 1
        heapq.heappush(q.ready, (at, self.seq, name))

    # ---- the dispatcher ----
    def run(self) -> None:
        while True:
            now = time.time()
            with _lock:
                for q in self.queues.values():
                    while q.ready and q.ready[0][0] <= now and q.may_dispatch():
                        _, _, name = heapq.heappop(q.ready)
                        task = q.tasks.get(name)
                        if task is None or task["in_flight"]:
                            continue
                        q.tokens -= 1.0
                        self.start(q, task)
            time.sleep(TICK_S)

    def start(self, q: Queue, task: dict) -> None:
        task["in_flight"] = True
        task["first_attempt"] = task["first_attempt"] or time.time()
        q.in_flight += 1
        q.stats["dispatched"] += 1
        self.pool.submit(self.push, q, task, True)

    def push(self, q: Queue, task: dict, counts: bool) -> None:
        """One attempt; `counts`: a dispatch of the queue's own (a control duplicate does not settle)."""
        status, reason = self.call(q, task)
        if not counts:
            return
        with _lock:
            task["in_flight"] = False
            q.in_flight -= 1
            task["dispatch_count"] += 1
            if status is not None and status < 500:
                task["execution_count"] += 1
            if status is not None and 200 <= status < 300:
                q.stats["succeeded"] += 1
                q.tasks.pop(task["id"], None)
                return
            task["retries"] += 1
            task["previous"], task["reason"] = status or 0, reason
            spent = task["retries"] >= q.max_attempts and (
                q.max_retry_s <= 0 or time.time() - task["first_attempt"] >= q.max_retry_s)
            if spent:  # no DLQ: the task is gone
                q.tasks.pop(task["id"], None)
                q.stats["exhausted"].append(task["id"].rsplit("/", 1)[-1])
                return
            task["schedule"] = time.time() + q.backoff(task["retries"])
            self.schedule(q, task["id"], task["schedule"])

    def call(self, q: Queue, task: dict) -> tuple[int | None, str]:
        http = task["httpRequest"]
        headers = dict(http.get("headers") or {})
        headers.update({
            "User-Agent": "Google-Cloud-Tasks",
            "X-CloudTasks-QueueName": q.name.rsplit("/", 1)[-1],
            "X-CloudTasks-TaskName": task["id"].rsplit("/", 1)[-1],
            "X-CloudTasks-TaskRetryCount": str(task["retries"]),
            "X-CloudTasks-TaskExecutionCount": str(task["execution_count"]),
            "X-CloudTasks-TaskETA": f"{task['schedule']:.6f}",
        })
        if task["retries"]:
            headers["X-CloudTasks-TaskPreviousResponse"] = str(task["previous"])
            headers["X-CloudTasks-TaskRetryReason"] = task["reason"]
        oidc = http.get("oidcToken")
        if oidc:
            headers["Authorization"] = "Bearer " + id_token(oidc.get("audience") or http["url"],
                                                           oidc["serviceAccountEmail"])
        body = base64.b64decode(http.get("body") or "")
        method = {1: "POST", 2: "GET", 3: "HEAD", 4: "PUT", 5: "DELETE", 6: "PATCH", 7: "OPTIONS"}.get(
            http.get("httpMethod"), http.get("httpMethod") or "POST")
        req = urllib.request.Request(http["url"], data=body if method in ("POST", "PUT", "PATCH") else None,
                                     headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=task["deadline"]) as r:
                r.read()
                return r.status, ""
        except urllib.error.HTTPError as e:
            return e.code, f"HTTP {e.code}"
        except TimeoutError:
            return None, "DEADLINE_EXCEEDED"
        except OSError as e:
            if "timed out" in str(e):
                return None, "DEADLINE_EXCEEDED"
            return None, f"UNAVAILABLE: {e}"
        except HTTPException as e:
            # An answer cut off mid-way (the worker SIGKILLed while it wrote: IncompleteRead), or one
            # that is not HTTP: a failed attempt, retried, as Cloud Tasks does. Uncaught, it would end
            # the push thread with the task still marked in flight, never retried and never settled.
            return None, f"UNAVAILABLE: {type(e).__name__}"

    # ---- the API ----
    def create_queue(self, parent: str, doc: dict) -> tuple[int, dict]:
        name = doc.get("name") or f"{parent}/queues/q-{uuid.uuid4().hex[:8]}"
        with _lock:
            if name in self.queues:
                return error(409, "ALREADY_EXISTS", f"queue {name} exists")
            self.queues[name] = Queue(name, doc)
            return 200, self.queues[name].doc()

    def create_task(self, parent: str, doc: dict) -> tuple[int, dict]:
        task_doc = doc.get("task") or {}
        with _lock:
            q = self.queues.get(parent)
            if q is None:
                return error(404, "NOT_FOUND", f"queue {parent} not found")
            name = task_doc.get("name") or f"{parent}/tasks/{uuid.uuid4().int % 10 ** 19}"
            if not name.startswith(parent + "/tasks/"):
                return error(400, "INVALID_ARGUMENT", "task name is not in this queue")
            if name in q.used:
                return error(409, "ALREADY_EXISTS", "Requested entity already exists")
            deadline = duration(task_doc.get("dispatchDeadline"), DEFAULT_DEADLINE_S)
            if not MIN_DEADLINE_S <= deadline <= MAX_DEADLINE_S:
                return error(400, "INVALID_ARGUMENT", "dispatch_deadline must be in [15s, 30m]")
            now = time.time()
            task = {"id": name, "httpRequest": task_doc.get("httpRequest") or {}, "created": now,
                    "schedule": max(now, parse_time(task_doc.get("scheduleTime"), now)), "deadline": deadline,
                    "retries": 0, "dispatch_count": 0, "execution_count": 0, "in_flight": False,
                    "first_attempt": None, "previous": 0, "reason": ""}
            q.tasks[name] = task
            q.used.add(name)
            self.schedule(q, name, task["schedule"])
            return 200, view(task)

    def get_task(self, name: str, queue: str) -> tuple[int, dict]:
        with _lock:
            task = self.queues.get(queue) and self.queues[queue].tasks.get(name)
            return (200, view(task)) if task else error(404, "NOT_FOUND", f"task {name} not found")

    def delete_task(self, name: str, queue: str) -> tuple[int, dict]:
        with _lock:
            q = self.queues.get(queue)
            if q is None or q.tasks.pop(name, None) is None:
                return error(404, "NOT_FOUND", f"task {name} not found")
            return 200, {}

    def duplicate(self, name: str, times: int) -> tuple[int, dict]:
        with _lock:
            q = self.queues.get(name.split("/tasks/")[0])
            task = q.tasks.get(name) if q else None
            if task is None:
                return error(404, "NOT_FOUND", f"task {name} not found")
            snapshot = dict(task)
        futures = [self.pool.submit(self.call, q, snapshot) for _ in range(times)]
        return 200, {"statuses": [f.result()[0] for f in futures]}


def view(task: dict) -> dict:
    return {"name": task["id"], "scheduleTime": rfc3339(task["schedule"]), "createTime": rfc3339(task["created"]),
            "dispatchDeadline": f"{int(task['deadline'])}s", "dispatchCount": task["dispatch_count"],
            "responseCount": task["execution_count"], "view": 1,
            "httpRequest": {k: v for k, v in task["httpRequest"].items() if k != "body"}}


def error(code: int, status: str, message: str) -> tuple[int, dict]:
    return code, {"error": {"code": code, "message": message, "status": status}}


STATE = State()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, doc: dict) -> None:
        raw = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _body(self) -> dict:
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}") if n else {}

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        if path == "/oauth2/v3/certs":
            return self._send(200, jwks())
        if path.startswith("/control/queues/"):
            with _lock:
                q = STATE.queues.get(path[len("/control/queues/"):])
                if q is None:
                    return self._send(*error(404, "NOT_FOUND", "no such queue"))
                return self._send(200, {"tasks": len(q.tasks), "in_flight": q.in_flight, **q.stats})
        if m := TASK.match(path):
            return self._send(*STATE.get_task(m.group(1), m.group(2)))
        if m := QUEUE.match(path):
            with _lock:
                q = STATE.queues.get(m.group(1))
            return self._send(200, q.doc()) if q else self._send(*error(404, "NOT_FOUND", "no such queue"))
        self._send(*error(404, "NOT_FOUND", path))

    def do_POST(self) -> None:
        path = unquote(urlsplit(self.path).path)
        body = self._body()
        if path == "/control/token":
            return self._send(200, {"token": id_token(body["aud"], body["email"], body.get("exp_in_s", 3600.0))})
        if path == "/control/push":
            return self._send(*STATE.duplicate(body["task"], int(body.get("times", 2))))
        if m := TASKS.match(path):
            return self._send(*STATE.create_task(m.group(1), body))
        if m := QUEUES.match(path):
            return self._send(*STATE.create_queue(m.group(1), body))
        self._send(*error(404, "NOT_FOUND", path))

    def do_DELETE(self) -> None:
        path = unquote(urlsplit(self.path).path)
        if m := TASK.match(path):
            return self._send(*STATE.delete_task(m.group(1), m.group(2)))
        self._send(*error(404, "NOT_FOUND", path))


def main(port: int) -> None:
    threading.Thread(target=STATE.run, daemon=True, name="dispatcher").start()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]))
