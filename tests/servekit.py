"""`skyrelay serve` as a real subprocess on a loopback port, over a config written to tmp_path.

    cfg = example_config(tmp_path, sim.base_url)        # examples/local.yaml against the simulator
    with Serve(tmp_path, cfg) as srv:                     # waits for /healthz
        urllib.request.urlopen(srv.url + "/healthz")

The process runs in its own session; stopping it (SIGTERM, then SIGKILL) takes its children with it.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from tests.routerkit import free_port

ROOT = Path(__file__).resolve().parents[1]
FREE, PRO = "sk-demo-free", "sk-demo-pro"  # the example config's demo keys


def example_config(tmp_path: Path, sim_url: str, **sections) -> dict:
    """examples/local.yaml with every deployment on the simulator and the jobs' SQLite file in tmp_path.
    `sections` replace top-level keys, or update them when both are dicts (`jobs=None`: no job workers)."""
    raw = yaml.safe_load((ROOT / "examples" / "local.yaml").read_text())
    for d in raw["deployments"]:
        d["endpoint"] = sim_url
    raw["jobs"]["store"]["path"] = str(tmp_path / "jobs.db")
    for key, value in sections.items():
        raw[key] = {**raw[key], **value} if isinstance(value, dict) and isinstance(raw.get(key), dict) else value
    return raw


class Serve:
    def __init__(self, tmp_path: Path, config: dict, *args: str, port: int | None = None):
        self.path = tmp_path / f"serve-{time.monotonic_ns()}.yaml"
        self.path.write_text(yaml.safe_dump(config))
        self.port = port or free_port()
        self.args = args
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
            cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=self._out, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"skyrelay serve exited:\n{self.output()}"
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=5):
                    return self
            except urllib.error.HTTPError:  # it answers: up
                return self
            except OSError:
                pass
            assert time.monotonic() < deadline, f"skyrelay serve did not start:\n{self.output()}"
            time.sleep(0.1)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

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
        self._out.close()
        return self.proc.returncode

    def __enter__(self) -> "Serve":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
