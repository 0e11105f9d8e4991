"""The failover scenario behind `skyrelay check --failover`: kill the primary under load, measure.

The stack's router config is served by a real `skyrelay serve` process with every deployment on
the provider simulator (`skyrelay simulate`, another process): same models, same priority order,
breaker, hedge, retry and timeouts; only the endpoints, auth (none), the limiter (memory), the
response cache (off) and the tenants (one enterprise tenant for the run) differ. Per model, two
closed-loop clients send non-streamed requests; after a healthy warm-up the primary is killed, as
in bench/takeover.py, in two ways: `down` (it answers 503 at once) and `hang` (it accepts and
never answers, the harder case: only the hedge or a timeout notices).

Figures per model and kill: `takeover_s`, from the kill to the first answer from another
deployment (or the fallback response); `failed`, the requests answered with an error after the
kill, or not answered GIVE_UP_S after the load stopped; `worst_s`, the slowest request in flight after the kill; `requests`, those sent after it.
"""

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

KEY = "sk-skyrelay-check-failover"
KILLS = ("down", "hang")
WARM_REQUESTS = 6
LOAD_AFTER_KILL_S = 3.0
CLIENTS = 2
GIVE_UP_S = 10.0  # the seed's takeover bound: a request in flight this long after the window is lost


@dataclass
class Takeover:
    model: str
    kill: str
    primary: str
    takeover_s: float | None  # None: no other deployment ever answered
    failed: int
    requests: int
    worst_s: float
    answered_by: list[str]


def local_config(router_raw: dict, sim_url: str) -> dict:
    """The stack's router config with every deployment on the simulator, as described above."""
    raw = json.loads(json.dumps(router_raw))
    raw.pop("jobs", None)
    for d in raw["deployments"]:
        d.update(endpoint=sim_url, auth="none")
        d.pop("api_key_env", None)
        d.pop("batch", None)
    raw["limiter"] = {"backend": "memory"}
    raw["cache"] = {"enabled": False}
    raw["tenants"] = [{"name": "check", "tier": "enterprise", "api_keys": [hashlib.sha256(KEY.encode()).hexdigest()]}]
    raw["tier_overrides"] = {"enterprise": {"rpm": 100000, "tpm": 100000000, "max_concurrent_streams": 1000,
                                            "model_classes": ["small", "medium", "large", "dedicated"]}}
    raw.setdefault("api", {}).pop("metrics_keys", None)
    return raw


def run(router_raw: dict) -> list[Takeover]:
    """Starts the simulator and the server, runs every model x kill, stops both."""
    with tempfile.TemporaryDirectory(prefix="skyrelay-check-") as tmp:
        sim_port = _free_port()
        sim = _start(["simulate", "--port", str(sim_port)])
        try:
            _wait_port(sim_port, sim)
            sim_url = f"http://127.0.0.1:{sim_port}"
            cfg = local_config(router_raw, sim_url)
            path = Path(tmp) / "router.yaml"
            path.write_text(yaml.safe_dump(cfg))
            results = []
            for model, m in cfg["models"].items():
                deps = {d["name"]: d for d in cfg["deployments"]}
                primary = deps[m["deployments"][0]]
                for kill in KILLS:  # a fresh server per run: breakers and TTFT estimates start clean
                    results.append(_one(path, sim_url, model, primary, kill))
            return results
        finally:
            _stop(sim)


def _one(config: Path, sim_url: str, model: str, primary: dict, kill: str) -> Takeover:
    _control(sim_url, "/_sim/reset", {})
    port = _free_port()
    server = _start(["serve", "--config", str(config), "--port", str(port)])
    try:
        _wait_port(port, server)
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        for _ in range(WARM_REQUESTS):
            _chat(url, model)
        log: list[tuple[float, float, int, str]] = []  # (sent, done, status, deployment)
        stop = threading.Event()

        def client() -> None:
            while not stop.is_set():
                sent = time.monotonic()
                status, dep = _chat(url, model)
                log.append((sent, time.monotonic(), status, dep))

        threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        _control(sim_url, "/_sim/faults", {"model": primary["upstream_model"], "fault": kill})
        killed = time.monotonic()
        time.sleep(LOAD_AFTER_KILL_S)
        stop.set()
        for t in threads:  # a request still unanswered GIVE_UP_S after the window counts as failed
            t.join(max(0.0, killed + LOAD_AFTER_KILL_S + GIVE_UP_S - time.monotonic()))
        hung = sum(t.is_alive() for t in threads)
        log = list(log)
    finally:
        _stop(server)
    after = [e for e in log if e[1] > killed] + [(killed, time.monotonic(), 0, "")] * hung
    others = [done for _, done, status, dep in after if status == 200 and dep != primary["name"]]
    return Takeover(model=model, kill=kill, primary=primary["name"],
                    takeover_s=round(min(others) - killed, 3) if others else None,
                    failed=sum(1 for e in after if e[2] != 200),
                    requests=sum(1 for e in log if e[0] >= killed),
                    worst_s=round(max((done - max(sent, killed) for sent, done, _, _ in after), default=0.0), 3),
                    answered_by=sorted({e[3] for e in after if e[2] == 200}))


def _chat(url: str, model: str) -> tuple[int, str]:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "one two three"}],
                       "max_tokens": 16}).encode()
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "content-type": "application/json", "authorization": f"Bearer {KEY}", "x-skyrelay-cache": "off"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            r.read()
            return r.status, r.headers.get("x-skyrelay-deployment", "")
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code, ""
    except OSError:
        return 0, ""


def _control(sim_url: str, path: str, body: dict) -> None:
    req = urllib.request.Request(sim_url + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    urllib.request.urlopen(req, timeout=10).close()


def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "skyrelay.cli.main", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    """Stops the process group this module started (the server's workers with it)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the process on port {port} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")
