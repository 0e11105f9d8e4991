"""Cloud Run cold start of the job worker: the worker service's import and start-up + its first Cloud
Tasks push, in a fresh interpreter, against loopback peers (the Firestore emulator, warmed first as
the managed service is: coldstart.warm_store; the in-project Cloud Tasks peer, the provider simulator),
beside a bare interpreter measured in the same run,
interleaved, so a loaded machine moves both.

    .venv/bin/python bench/cloud_run_cold.py [--runs 5] [--json] [--importtime]

What a run measures (the child), as `python -m skyrelay.runtime.platforms.cloud_run --role worker`
does before and on its first request:
- import: `skyrelay.runtime.platforms.cloud_run.worker` (the module the service starts from);
- start: bootstrap from the environment AsyncJobs writes (runtime.start: the config, the router on
  the stdlib provider transport, the Firestore store and limiter over REST, the queue adapter), the
  ASGI app;
- first push (google-cloud-tasks is not imported: a push that completes enqueues nothing): one POST
  /tasks through the ASGI app, as the peer makes it (X-CloudTasks-* headers, an OIDC bearer the peer
  signed): the token checked with the stdlib RS256 check (the signing keys fetched once), the
  Firestore reads and conditional commits (claim, limiter, complete) on a fresh connection, the
  provider call to the simulator, the 200. A second push measures the warm path.
The uvicorn socket itself is left out (its accept is the same for every app). Measured from the
installed sources in the venv, with their bytecode compiled first (as the Cloud Run build compiles
it; a priming run writes it under its own PYTHONPYCACHEPREFIX). Target: import + start + first push
<= 250 ms on this machine.
"""

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import coldstart
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = coldstart.CHILD_HEAD + r"""
from skyrelay.runtime.platforms.cloud_run import worker
t1 = time.perf_counter()
handlers = worker.build()
app = worker.make_app(handlers=lambda: handlers)
t2 = time.perf_counter()

async def push(doc):
    body = json.dumps({"job_id": doc["job_id"], "priority": "interactive"}).encode()
    headers = [(k.lower().encode(), v.encode()) for k, v in doc["headers"].items()]
    headers += [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/tasks", "raw_path": b"/tasks", "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8080)}
    sent, out = [False], {}
    async def receive():
        if not sent[0]:
            sent[0] = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
    await app(scope, receive, send)
    return out["status"]

loop = asyncio.new_event_loop()
t2b = time.perf_counter()
s1 = loop.run_until_complete(push(json.load(open(sys.argv[1]))))
t3 = time.perf_counter()
c3 = time.process_time()
s2 = loop.run_until_complete(push(json.load(open(sys.argv[2]))))
t4 = time.perf_counter()
assert (s1, s2) == (200, 200), (s1, s2)
print(json.dumps({"import_ms": (t1 - t0) * 1000, "start_ms": (t2 - t1) * 1000, "push_ms": (t3 - t2b) * 1000,
                  "total_ms": (t3 - t0) * 1000, "warm_ms": (t4 - t3) * 1000, "cpu_ms": (c3 - c0) * 1000}))
"""


def service_env(sim_url: str, collection: str, queues: dict, worker_url: str) -> dict:
    from skyrelay import deployment as contract
    from tests import peers
    from tests.contracts.gcp_adapters import PROJECT, TASKS_SA

    raw = yaml.safe_load((ROOT / "examples" / "local.yaml").read_text())
    for d in raw["deployments"]:
        d["endpoint"] = sim_url
    raw.pop("jobs", None)
    raw["limiter"] = {"backend": "firestore"}  # as deployed: the shared limiter in the job collection
    tasks = peers.cloudtasks()
    return {contract.CONFIG_JSON: json.dumps(raw), contract.GCP_PROJECT: PROJECT,
            contract.FIRESTORE_COLLECTION: collection, contract.WORKER_URL: worker_url,
            contract.OIDC_AUDIENCE: worker_url, contract.TASKS_SERVICE_ACCOUNT: TASKS_SA,
            contract.DISPATCH_DEADLINE_SECONDS: "90", contract.TASKS_ENDPOINT: tasks.endpoint,
            contract.OIDC_CERTS_URL: tasks.certs_url, contract.MAX_RECEIVE_COUNT: "5",
            "FIRESTORE_EMULATOR_HOST": peers.firestore(),
            **{contract.tasks_queue(p): q for p, q in queues.items()}}


def push_doc(collection: str, path: Path, worker_url: str, queue: str) -> None:
    """A job in Firestore and the push Cloud Tasks would make for it (headers and a signed token)."""
    from tests import peers
    from tests.contracts.gcp_adapters import TASKS_SA

    job = coldstart.cold_job()
    now = job.created_at
    asyncio.run(_create(collection, job))
    token = peers.cloudtasks().token(worker_url, TASKS_SA)
    path.write_text(json.dumps({"job_id": job.id, "headers": {
        "X-CloudTasks-QueueName": queue.rsplit("/", 1)[-1], "X-CloudTasks-TaskName": f"bench-{job.id}",
        "X-CloudTasks-TaskRetryCount": "0", "X-CloudTasks-TaskExecutionCount": "0",
        "X-CloudTasks-TaskETA": f"{now:.6f}", "User-Agent": "Google-Cloud-Tasks", "Authorization": f"Bearer {token}"}}))


async def _create(collection: str, job=None) -> None:
    """`job` created in the collection; without one, the emulator warmed (coldstart.warm_store)."""
    from tests.contracts.gcp_adapters import firestore_on

    store = firestore_on(collection)
    try:
        await (store.create(job) if job else coldstart.warm_store(store))
    finally:
        await store.close()


def main() -> int:
    args = coldstart.parser().parse_args()

    from skyrelay.runtime.simulator.launch import start_in_thread
    from tests import peers
    from tests.contracts.gcp_adapters import fresh_collection, tasks_queues

    sim_url, stop_sim = start_in_thread(port=0)
    work = Path(tempfile.mkdtemp(prefix="cloud-run-cold-"))
    try:
        collection = fresh_collection("bench")
        queues = tasks_queues(max_receives=5)
        asyncio.run(_create(fresh_collection("warm")))
        worker_url = f"http://127.0.0.1:{peers.free_port()}/tasks"  # nothing listens: the bench pushes itself
        # Bytecode compiled once, as the Cloud Run build does (the Python buildpack's pip install writes
        # .pyc): a priming child writes it under its own prefix, then nothing compiles in a measured run.
        env = {**os.environ, **service_env(sim_url, collection, queues, worker_url),
               "PYTHONPYCACHEPREFIX": str(work / "pyc")}
        env.pop("PYTHONPATH", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        (work / "child.py").write_text(CHILD)
        bare, runs = [], []

        def child(tag: str, *extra: str):
            for n in (1, 2):
                push_doc(collection, work / f"{tag}-{n}.json", worker_url, queues["interactive"])
            return subprocess.run([sys.executable, *extra, str(work / "child.py"), str(work / f"{tag}-1.json"),
                                   str(work / f"{tag}-2.json")], env=env, capture_output=True, text=True, cwd=str(work))

        coldstart.child_result(child("prime"))
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        for i in range(args.runs):
            bare.append(coldstart.bare_ms(sys.executable, env))
            runs.append(coldstart.child_result(child(f"m{i}")))
        report = {**coldstart.head(args.runs, bare), **coldstart.summarize(runs, ("import_ms", "start_ms", "push_ms", "total_ms", "warm_ms", "cpu_ms"))}
        if args.importtime:
            report["slowest_imports_cumulative_ms"] = coldstart.slowest_imports(child("it", "-X", "importtime").stderr)
        return coldstart.finish(report, args.json, (
            f"worker (Cloud Tasks push): cold import {report['import_ms_median']} ms + start "
            f"{report['start_ms_median']} ms + first push {report['push_ms_median']} ms = "
            f"{report['total_ms_median']} ms median (max {report['total_ms_max']} ms, CPU "
            f"{report['cpu_ms_median']} ms); warm push {report['warm_ms_median']} ms"))
    finally:
        stop_sim()


if __name__ == "__main__":
    sys.exit(main())
