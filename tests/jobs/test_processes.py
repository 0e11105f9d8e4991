"""`skyrelay serve` with a jobs section: the API in one process, workers in their own processes; and a
worker process stopped with SIGTERM releases its in-flight job."""

import asyncio
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import orjson
import pytest
import yaml
from aiohttp import web

from tests import peers

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-proc-test"


class Upstream:
    """An OpenAI-compatible upstream on loopback; a prompt containing "hang" never gets an answer."""

    def __init__(self):
        self.calls: list[str] = []
        self.hung = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.port = peers.free_port()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)

    async def chat(self, request):
        body = await request.json()
        prompt = body["messages"][-1]["content"]
        self.calls.append(prompt)
        if "hang" in prompt:
            self.hung.set()
            await asyncio.sleep(3600)
        if body.get("stream"):  # the router reads non-streamed answers from a stream (timeouts.stream_sync)
            chunks = [{"choices": [{"index": 0, "delta": {"content": f"echo {prompt}"}, "finish_reason": "stop"}]},
                      {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}]
            sse = b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
            return web.Response(body=sse, content_type="text/event-stream")
        return web.json_response({
            "id": "c1", "object": "chat.completion", "created": 1, "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": f"echo {prompt}"},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}})

    def _serve(self, ready):
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        self.loop.run_until_complete(self.runner.setup())
        self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", self.port).start())
        ready.set()
        self.loop.run_forever()

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, "the server exited"
        if peers.port_open(port):
            return
        time.sleep(0.05)
    raise AssertionError(f"port {port} never opened")


def _config(tmp_path: Path, upstream: int, workers: int) -> Path:
    cfg = {
        "deployments": [{"name": "up", "model": "fast", "provider": "openai_compat", "upstream_model": "m",
                         "endpoint": f"http://127.0.0.1:{upstream}", "auth": "none"}],
        "models": {"fast": {"deployments": ["up"]}},
        "tenants": [{"name": "t", "tier": "enterprise", "api_keys": [hashlib.sha256(KEY.encode()).hexdigest()]}],
        "cache": {"enabled": False},
        "jobs": {"store": {"path": str(tmp_path / "jobs.db")},
                 "worker": {"workers": workers, "concurrency": 4, "poll_interval_s": 0.02, "shutdown_grace_s": 0.5}},
    }
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _job(db: Path, job_id: str) -> dict:
    with sqlite3.connect(db, timeout=30) as c:
        row = c.execute("SELECT doc FROM jobs WHERE id=?", (job_id,)).fetchone()
    return orjson.loads(row[0])


def _queued(db: Path) -> list[tuple]:
    with sqlite3.connect(db, timeout=30) as c:
        return c.execute("SELECT job_id, receipt FROM queue").fetchall()


def _until(predicate, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition never held")


def _submit(port: int, prompt: str) -> str:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/jobs", method="POST",
                                 data=orjson.dumps({"model": "fast", "prompt": prompt}),
                                 headers={"authorization": f"Bearer {KEY}", "content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 202
        return orjson.loads(r.read())["id"]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


@pytest.fixture
def upstream():
    u = Upstream()
    yield u
    u.close()


def test_serve_runs_workers_in_separate_processes_and_stops_them(tmp_path, upstream):
    port = peers.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "skyrelay.cli.main", "serve", "--config",
                             str(_config(tmp_path, upstream.port, workers=2)), "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        _wait_port(port, proc)
        kids = _children(proc.pid)
        assert len(kids) == 2  # two worker processes beside the API
        ids = [_submit(port, f"p{i}") for i in range(6)]
        _until(lambda: all(_job(tmp_path / "jobs.db", i)["status"] == "COMPLETE" for i in ids))
        jobs = [_job(tmp_path / "jobs.db", i) for i in ids]
        assert {j["history"][-1]["worker"] for j in jobs} <= {"worker-1", "worker-2"}
        assert sorted(upstream.calls) == sorted(f"p{i}" for i in range(6))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        for kid in kids:  # the workers went with it (gone, or a zombie the test runner reaps)
            _until(lambda kid=kid: not os.path.exists(f"/proc/{kid}") or
                   Path(f"/proc/{kid}/stat").read_text().split()[2] == "Z")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sigterm_releases_the_worker_process_in_flight_job(tmp_path, upstream):
    cfg = _config(tmp_path, upstream.port, workers=1)
    port = peers.free_port()
    api = subprocess.Popen([sys.executable, "-m", "skyrelay.cli.main", "serve", "--config", str(cfg), "--port",
                            str(port)], cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        _wait_port(port, api)
        [worker] = _children(api.pid)
        job_id = _submit(port, "hang")
        assert upstream.hung.wait(20)
        db = tmp_path / "jobs.db"
        assert _job(db, job_id)["status"] == "PROCESSING"
        os.kill(worker, signal.SIGTERM)  # the worker alone: the API keeps serving
        # the job goes back to PENDING first, then its message (two writes): wait for both
        _until(lambda: _job(db, job_id)["status"] == "PENDING" and _queued(db) == [(job_id, None)])
        job = _job(db, job_id)
        assert job["attempts"] == 0 and job["claim"] is None
        assert _queued(db) == [(job_id, None)]  # the message is back, visible, with no receipt
        assert api.poll() is None
    finally:
        api.send_signal(signal.SIGTERM)
        try:
            api.wait(30)
        except subprocess.TimeoutExpired:
            api.kill()
            api.wait()
