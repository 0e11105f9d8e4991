"""Defect 5 of issue 9: the shipped config kept limits per process (memory), so a Free tenant using chat
and jobs together got 20 upstream calls a minute against its 10 RPM, and every restart opened a new
window. With the shipped config (`limiter.backend: sqlite`), 4 clients on one Free key, split across
chat and jobs, for 60 s of `skyrelay serve` with its job worker process, and a restart of serve in the
middle, make at most the tier's RPM + 1% upstream calls (counted at the simulator).

A 60 s test on purpose: the one-minute window is the outcome under test."""

import threading
import time

from skyrelay.tiers import TierName, default_tiers
from tests.servekit import FREE, Serve, example_config, http

RPM = default_tiers()[TierName.FREE].rpm
AUTH = {"authorization": f"Bearer {FREE}"}


def test_four_clients_on_chat_and_jobs_share_one_window_across_processes_and_a_restart(tmp_path, sim):
    cfg = example_config(tmp_path, sim.base_url)
    assert cfg["limiter"]["backend"] == "sqlite"  # as shipped
    # Upstream calls stand for admissions here: no hedged second call for one admitted request (a
    # loaded machine's slow first chunks would start hedges; hedging has its own tests)
    cfg["hedge"] = {"enabled": False}
    srv = Serve(tmp_path, cfg).start()
    stop = threading.Event()
    statuses: list[tuple[float, str, int]] = []
    seq = iter(range(10**9))

    def client(kind: str):
        while not stop.is_set():
            n = next(seq)
            if kind == "chat":
                path, body = "/v1/chat/completions", {"model": "fast", "max_tokens": 5,
                                                      "messages": [{"role": "user", "content": f"hi {n}"}]}
            else:
                path, body = "/v1/jobs", {"model": "fast", "max_tokens": 5, "prompt": f"job {n}"}
            try:
                status, _, _ = http("POST", f"http://127.0.0.1:{srv.port}{path}", body, AUTH, timeout=10)
            except OSError:  # serve is restarting
                status = 0
            statuses.append((time.monotonic(), kind, status))
            stop.wait(0.1)

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(kind,), daemon=True) for kind in ("chat", "chat", "jobs", "jobs")]
    for t in threads:
        t.start()
    try:
        time.sleep(25)
        before_restart = sim.calls()["total"]
        srv.stop()
        srv = Serve(tmp_path, cfg, port=srv.port).start()  # same port, same files
        restarted = time.monotonic()
        time.sleep(max(0.0, t0 + 58 - time.monotonic()))
        calls = sim.calls()["total"]  # every call counted here was admitted within one 60 s window
    finally:
        stop.set()
        for t in threads:
            t.join(15)
        srv.stop()
    after = [s for at, _, s in statuses if at > restarted + 1]
    print(f"upstream calls in one window: {calls} (RPM {RPM}; {before_restart} before the restart); "
          f"{len(statuses)} requests, {after.count(429)} refused after the restart")
    assert before_restart >= RPM * 0.9, before_restart  # the load saturated the window before the restart
    assert calls <= RPM * 1.01, (before_restart, calls)
    assert after.count(429) > 10, after  # after the restart the clients kept going and were refused
    assert {kind for _, kind, s in statuses if s in (200, 202)} == {"chat", "jobs"}
