"""The GCP deployment on loopback peers, as Cloud Run runs it: a fresh Firestore collection on the
emulator, one Cloud Tasks queue per priority on the in-project peer, the environment AsyncJobs and
JobsApi write (skyrelay/deployment.py names), the example config's deployments on the provider
simulator, and the two services as processes: `python -m skyrelay.runtime.platforms.cloud_run
--role api|worker`, each serving on its own port with uvicorn.

    kit = GcpKit.start(sim, max_receives=2)
    status, headers, body = await kit.http("POST", "/v1/jobs", {...})
    job = await kit.wait_final(job_id)
    kit.stop()
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import yaml

from skyrelay import deployment as contract
from skyrelay.runtime.jobs.webhooks import new_secret
from tests import peers
from tests.contracts.gcp_adapters import PROJECT, TASKS_SA, firestore_on, fresh_collection, tasks_queues

ROOT = Path(__file__).resolve().parents[2]
PRO = "sk-demo-pro"
FAST_UPSTREAMS = ("anthropic.claude-3-haiku-20240307-v1:0", "gpt-4o-mini")  # examples/local.yaml
AUDIENCE_PATH = "/tasks"


def router_config(sim_url: str, router: dict | None = None, **jobs) -> dict:
    """examples/local.yaml on the simulator, with what the GCP stack decides left to the deployment
    (no store/queue; the limiter is replaced by the shared Firestore one); `router` replaces top-level
    sections (timeouts, hedge)."""
    raw = yaml.safe_load((ROOT / "examples" / "local.yaml").read_text())
    for d in raw["deployments"]:
        d["endpoint"] = sim_url
    raw["limiter"] = {"backend": "memory"}
    raw["cache"] = {"enabled": False}
    raw["jobs"] = {"webhooks": {"allow_hosts": ["127.0.0.1/32"]},
                   "worker": {"backoff_base_s": 0.05, "backoff_max_s": 0.2}, **jobs}
    raw.update(router or {})
    return raw


def wait_http(url: str, proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout_s} s")


class GcpKit:
    @classmethod
    def start(cls, sim, max_receives: int = 3, deadline_s: int = 60, min_backoff_s: float = 0.2,
              max_backoff_s: float = 0.5, api: bool = True, router: dict | None = None,
              env: dict | None = None, **jobs) -> "GcpKit":
        self = cls()
        self.sim = sim
        self.tasks = peers.cloudtasks()
        self.collection = fresh_collection()
        self.queues = tasks_queues(max_receives, min_backoff_s=min_backoff_s, max_backoff_s=max_backoff_s,
                                   max_doublings=2)
        self.secret = new_secret()
        self.worker_port, self.api_port = peers.free_port(), peers.free_port()
        self.worker_url = f"http://127.0.0.1:{self.worker_port}{AUDIENCE_PATH}"
        self.env = {
            contract.CONFIG_JSON: json.dumps(router_config(sim.base_url, router, **jobs)),
            contract.GCP_PROJECT: PROJECT, contract.FIRESTORE_COLLECTION: self.collection,
            contract.WORKER_URL: self.worker_url, contract.OIDC_AUDIENCE: self.worker_url,
            contract.TASKS_SERVICE_ACCOUNT: TASKS_SA, contract.DISPATCH_DEADLINE_SECONDS: str(deadline_s),
            contract.TASKS_ENDPOINT: self.tasks.endpoint, contract.OIDC_CERTS_URL: self.tasks.certs_url,
            contract.MAX_RECEIVE_COUNT: str(max_receives), contract.WEBHOOK_SECRET: self.secret,
            "FIRESTORE_EMULATOR_HOST": peers.firestore(),
            **{contract.tasks_queue(p): q for p, q in self.queues.items()},
            **(env or {}),
        }
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self.start_role("worker")
        if api:
            self.start_role("api")
        self.store = firestore_on(self.collection)  # the test's own view of the collection
        return self

    def start_role(self, role: str, argv: list[str] | None = None) -> subprocess.Popen:
        port = self.worker_port if role == "worker" else self.api_port
        import tempfile

        log = Path(tempfile.mkstemp(prefix=f"skyrelay-cloudrun-{role}-", suffix=".log")[1])
        self.logs[role] = log
        cmd = argv or [sys.executable, "-m", "skyrelay.runtime.platforms.cloud_run", "--role", role,
                       "--host", "127.0.0.1", "--port", str(port)]
        with open(log, "ab") as out:
            proc = subprocess.Popen(cmd, env={**os.environ, **self.env, "PORT": str(port)}, cwd=str(ROOT),
                                    stdout=out, stderr=subprocess.STDOUT)
        self.procs[role] = proc
        wait_http(f"http://127.0.0.1:{port}/healthz", proc)
        return proc

    def kill(self, role: str, sig=signal.SIGKILL) -> int:
        proc = self.procs[role]
        proc.send_signal(sig)
        return proc.wait(30)

    async def http(self, method: str, path: str, body=None, key: str = PRO):
        async with aiohttp.ClientSession() as s, s.request(
                method, f"http://127.0.0.1:{self.api_port}{path}", json=body,
                headers={"authorization": f"Bearer {key}"}) as r:
            raw = await r.read()
            return r.status, dict(r.headers), json.loads(raw) if raw else None

    async def push(self, body: dict | bytes, token: str | None, task: str = "t-manual", retry: int = 0,
                   path: str = AUDIENCE_PATH):
        """A push to the worker as Cloud Tasks makes it, with the given bearer (None: no header)."""
        headers = {"content-type": "application/json", "x-cloudtasks-queuename": self.queues["interactive"].rsplit("/", 1)[-1],
                   "x-cloudtasks-taskname": task, "x-cloudtasks-taskretrycount": str(retry)}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with aiohttp.ClientSession() as s, s.post(f"http://127.0.0.1:{self.worker_port}{path}", data=data,
                                                        headers=headers) as r:
            raw = await r.read()
            return r.status, json.loads(raw) if raw else None

    def token(self, aud: str | None = None, email: str = TASKS_SA, **kw) -> str:
        return self.tasks.token(aud or self.worker_url, email, **kw)

    async def wait_final(self, job_id: str, timeout_s: float = 60.0, status=("COMPLETE", "FAILED")):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = await self.store.get(job_id)
            if job is not None and job.status.value in status:
                return job
            await asyncio.sleep(0.1)
        raise AssertionError(f"job {job_id} is not {status} after {timeout_s} s: {job}")

    async def settled(self, timeout_s: float = 30.0) -> dict:
        """The queues' stats once no task is left (every task answered 2xx or out of attempts)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            stats = {p: self.tasks.stats(q) for p, q in self.queues.items()}
            if all(s["tasks"] == 0 for s in stats.values()):
                return stats
            await asyncio.sleep(0.1)
        raise AssertionError(f"tasks left after {timeout_s} s: {stats}")

    def metric_lines(self, role: str = "worker") -> list[dict]:
        """The EMF metric lines a service printed (its stdout, what Cloud Logging parses into jsonPayload)."""
        out = []
        for line in self.logs[role].read_text(errors="replace").splitlines():
            if line.startswith("{") and '"CloudWatchMetrics"' in line:
                out.append(json.loads(line))
        return out

    def fail_fast_model(self, fault: str = "500") -> None:
        for model in FAST_UPSTREAMS:
            self.sim.set_fault(model, fault)

    async def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        await self.store.close()
