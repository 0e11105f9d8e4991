"""The stack's router config served locally: `skyrelay simulate` plus `skyrelay serve`, two processes.

Shared by the failover scenario (takeover.py) and the built-in load run of the SLA check (sla.py).
The config is the stack's, with only what a local run must change: every deployment's endpoint on
the simulator with no auth (deployments sharing an upstream model each get their own, `sim_models`), the memory limiter, no response cache, one enterprise tenant for the
run with limits that never bind, and a /metrics token. Processes are started in their own session
and stopped by their process group id, nothing else.
"""

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

KEY = "sk-skyrelay-check"
METRICS_KEY = "sk-skyrelay-check-metrics"


def sim_models(router_raw: dict) -> dict[str, str]:
    """Deployment name -> the upstream model it calls on the simulator. Deployments that share an
    upstream model (the same model in two regions) each get their own (`<model>~<deployment>`), since
    the simulator's faults are set per model: killing the primary must kill it alone, as an outage
    of its region would, not its secondary with it."""
    deployments = router_raw.get("deployments") or []
    counts: dict[str, int] = {}
    for d in deployments:
        counts[d["upstream_model"]] = counts.get(d["upstream_model"], 0) + 1
    return {d["name"]: d["upstream_model"] + (f"~{d['name']}" if counts[d["upstream_model"]] > 1 else "")
            for d in deployments}


def local_config(router_raw: dict, sim_url: str) -> dict:
    raw = json.loads(json.dumps(router_raw))
    raw.pop("jobs", None)
    models = sim_models(router_raw)
    for d in raw["deployments"]:
        d.update(endpoint=sim_url, auth="none", upstream_model=models[d["name"]])
        d.pop("api_key_env", None)
        d.pop("batch", None)
    raw["limiter"] = {"backend": "memory"}
    raw["cache"] = {"enabled": False}
    raw["tenants"] = [{"name": "check", "tier": "enterprise", "api_keys": [_sha(KEY)]}]
    raw["tier_overrides"] = {"enterprise": {"rpm": 1000000, "tpm": 1000000000, "max_concurrent_streams": 1000,
                                            "model_classes": ["small", "medium", "large", "dedicated"]}}
    raw.setdefault("api", {})["metrics_keys"] = [_sha(METRICS_KEY)]
    return raw


class _Process:
    """A `skyrelay <args> --port N` process on a free loopback port, up for the `with` block."""

    def __init__(self, args: list[str]):
        self.port = free_port()
        self.proc = start([*args, "--port", str(self.port)])
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        try:
            wait_port(self.port, self.proc)
        except BaseException:
            stop(self.proc)
            raise
        return self

    def __exit__(self, *exc) -> None:
        stop(self.proc)


class Simulator(_Process):
    def __init__(self):
        super().__init__(["simulate"])

    def control(self, path: str, body: dict) -> None:
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json"})
        urllib.request.urlopen(req, timeout=10).close()


class Server(_Process):
    """`skyrelay serve --config FILE` on a free port."""

    def __init__(self, config_file: Path):
        super().__init__(["serve", "--config", str(config_file)])

    def chat(self, model: str, stream: bool = False) -> tuple[int, str]:
        """(status, x-skyrelay-deployment) of one small completion; status 0 when the connection failed."""
        body = {"model": model, "messages": [{"role": "user", "content": "one two three"}], "max_tokens": 16}
        if stream:
            body["stream"] = True
        req = urllib.request.Request(self.url + "/v1/chat/completions", data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json", "authorization": f"Bearer {KEY}",
                                              "x-skyrelay-cache": "off"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                r.read()
                return r.status, r.headers.get("x-skyrelay-deployment", "")
        except urllib.error.HTTPError as exc:
            exc.read()
            return exc.code, ""
        except OSError:
            return 0, ""

    def metrics(self) -> str:
        req = urllib.request.Request(self.url + "/metrics", headers={"authorization": f"Bearer {METRICS_KEY}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.read().decode()


def write_config(router_raw: dict, sim_url: str, folder: Path) -> Path:
    path = folder / "router.yaml"
    path.write_text(yaml.safe_dump(local_config(router_raw, sim_url)))
    return path


def start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "skyrelay.cli.main", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    """Stops the process group this module started (a server's workers with it)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the process on port {port} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
