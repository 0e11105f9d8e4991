"""`skyrelay serve` as a real subprocess on a loopback port, over a config written to tmp_path.

    cfg = example_config(tmp_path, sim.base_url)        # examples/local.yaml against the simulator
    with Serve(tmp_path, cfg) as srv:                     # waits for /healthz
        urllib.request.urlopen(srv.url + "/healthz")

The process runs in its own session, so stopping it (SIGTERM, then SIGKILL) takes its job worker
processes with it.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import orjson
import yaml

from tests.routerkit import free_port, merge_sections

ROOT = Path(__file__).resolve().parents[1]
FREE, PRO = "sk-demo-free", "sk-demo-pro"  # the example config's demo keys


def example_config(tmp_path: Path, sim_url: str, **sections) -> dict:
    """examples/local.yaml with every deployment on the simulator and the jobs' SQLite files (and the
    SQLite limiter's) in tmp_path. `sections` replace top-level keys, or update them when both are dicts."""
    raw = yaml.safe_load((ROOT / "examples" / "local.yaml").read_text())
    for d in raw["deployments"]:
        d["endpoint"] = sim_url
    raw["jobs"]["store"]["path"] = str(tmp_path / "jobs.db")
    raw["jobs"].setdefault("batch", {})["storage"] = {"backend": "local", "options": {"root": str(tmp_path / "objects")}}
    if raw.get("limiter", {}).get("backend") == "sqlite":
        raw["limiter"]["path"] = str(tmp_path / "limits.db")
    return merge_sections(raw, sections)


def http(method: str, url: str, body=None, headers: dict | None = None, timeout: float = 30):
    """-> (status, headers, parsed JSON body or raw bytes). Never raises on an HTTP status."""
    data = orjson.dumps(body) if body is not None and not isinstance(body, bytes) else body
    h = {"content-type": "application/json", **(headers or {})}
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, hdrs, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, e.headers, e.read()
    try:
        return status, hdrs, orjson.loads(raw)
    except orjson.JSONDecodeError:
        return status, hdrs, raw


class Serve:
    def __init__(self, tmp_path: Path, config: dict, *args: str, port: int | None = None, env: dict | None = None):
        self.path = tmp_path / f"serve-{time.monotonic_ns()}.yaml"
        self.path.write_text(yaml.safe_dump(config))
        self.port = port or free_port()
        self.args = args
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.log = tmp_path / f"serve-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "Serve":
        self._out = open(self.log, "ab")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "skyrelay.cli.main", "serve", "--config", str(self.path), "--port",
             str(self.port), "--log-level", "info", *self.args],
            cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env}, stdout=self._out,
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"skyrelay serve exited:\n{self.output()}"
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=5):
                    return self
            except urllib.error.HTTPError:  # it answers: up (health may be 503 while workers start)
                return self
            except OSError:
                pass
            assert time.monotonic() < deadline, f"skyrelay serve did not start:\n{self.output()}"
            time.sleep(0.1)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def children(self) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True)
        return [int(x) for x in out.stdout.split()]

    def stop(self, timeout: float = 30) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        with_group_gone(self.proc.pid)
        self._out.close()
        return self.proc.returncode

    def __enter__(self) -> "Serve":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def with_group_gone(pgid: int, timeout: float = 20) -> None:
    """Waits until no process of the group is left (the job workers exit after the API)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.killpg(pgid, signal.SIGKILL)
