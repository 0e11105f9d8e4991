"""Defect 4 of issue 9: a SIGKILLed job worker process was neither restarted nor reported (submits got
202, /healthz 200, jobs stayed PENDING). Now `skyrelay serve` restarts it with backoff and logs it, and
/healthz answers 503 while no worker is alive."""

import os
import signal
import time

from tests.servekit import PRO, Serve, example_config, http

AUTH = {"authorization": f"Bearer {PRO}"}


def _until(predicate, timeout: float, what: str, srv: Serve):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} never happened:\n{srv.output()[-3000:]}"
        time.sleep(0.05)


def _job_done(srv: Serve, job_id: str) -> bool:
    _, _, job = http("GET", f"{srv.url}/v1/jobs/{job_id}", headers=AUTH)
    return job["status"] == "COMPLETE"


def test_a_killed_worker_is_reported_restarted_with_backoff_and_jobs_complete(tmp_path, sim):
    backoff = 4.0  # the first restart waits this long: long enough to watch /healthz say 503
    cfg = example_config(tmp_path, sim.base_url,
                         jobs={**example_config(tmp_path, sim.base_url)["jobs"],
                               "worker": {"workers": 1, "restart_backoff_s": backoff, "restart_backoff_max_s": 5}})
    with Serve(tmp_path, cfg) as srv:
        status, _, health = http("GET", srv.url + "/healthz")
        assert status == 200 and health["workers"] == {"expected": 1, "alive": 1, "restarts": 0}, health
        [worker] = _until(srv.children, 30, "the worker process", srv)
        os.kill(worker, signal.SIGKILL)
        killed = time.monotonic()
        status, _, health = _until(lambda: (r := http("GET", srv.url + "/healthz"))[0] == 503 and r, 10,
                                   "/healthz 503", srv)
        assert health["status"] == "unavailable" and health["workers"]["alive"] == 0, health
        # submits are still taken (the queue is durable); the job runs once a worker is back
        status, _, sub = http("POST", srv.url + "/v1/jobs", {"model": "fast", "prompt": "after the kill"}, AUTH)
        assert status == 202, sub
        [again] = _until(lambda: [p for p in srv.children() if p != worker], 60, "the restart", srv)
        assert time.monotonic() - killed >= backoff * 0.9  # it waited for the backoff
        _until(lambda: _job_done(srv, sub["id"]), 60, "the job's completion", srv)
        status, _, health = http("GET", srv.url + "/healthz")
        assert status == 200 and health["workers"] == {"expected": 1, "alive": 1, "restarts": 1}, health
        # a second death in a row: the backoff doubles, up to restart_backoff_max_s
        os.kill(again, signal.SIGKILL)
        _until(lambda: [p for p in srv.children() if p not in (worker, again)], 60, "the second restart", srv)
    log = srv.output()
    assert f"worker-1 (pid {worker}) died (signal SIGKILL)" in log and "restarting in 4.0s" in log, log[-3000:]
    assert f"worker-1 (pid {again}) died (signal SIGKILL)" in log and "restarting in 5.0s" in log, log[-3000:]
