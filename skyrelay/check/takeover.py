"""The failover scenario behind `skyrelay check --failover`: kill the primary under load, measure.

The stack's router config is served as localrun.py describes (same models, priority order,
breaker, hedge, retry and timeouts; every deployment on the simulator). Per model, two closed-loop
clients send non-streamed requests; after a healthy warm-up the primary is killed, as in
bench/takeover.py, in two ways: `down` (it answers 503 at once) and `hang` (it accepts and never
answers, the harder case: only the hedge or a timeout notices). A fresh server per run, so
breakers and TTFT estimates start clean.

Figures per model and kill: `takeover_s`, from the kill to the first answer from another
deployment (or the fallback response); `failed`, the requests answered with an error after the
kill, or not answered GIVE_UP_S after the load stopped; `worst_s`, the slowest request in flight
after the kill; `requests`, those in flight at the kill or sent after it.
"""

import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from skyrelay.check.localrun import Server, Simulator, sim_models, write_config

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


def run(router_raw: dict) -> list[Takeover]:
    with tempfile.TemporaryDirectory(prefix="skyrelay-check-") as tmp, Simulator() as sim:
        config = write_config(router_raw, sim.url, Path(tmp))
        models = sim_models(router_raw)
        deployments = {d["name"]: {**d, "upstream_model": models[d["name"]]} for d in router_raw["deployments"]}
        return [_one(config, sim, model, deployments[m["deployments"][0]], kill)
                for model, m in router_raw["models"].items() for kill in KILLS]


def _one(config: Path, sim: Simulator, model: str, primary: dict, kill: str) -> Takeover:
    sim.control("/_sim/reset", {})
    log: list[tuple[float, float, int, str]] = []  # (sent, done, status, deployment)
    with Server(config) as server:
        for _ in range(WARM_REQUESTS):
            server.chat(model)
        stop = threading.Event()

        def client() -> None:
            while not stop.is_set():
                sent = time.monotonic()
                status, dep = server.chat(model)
                log.append((sent, time.monotonic(), status, dep))

        threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        sim.control("/_sim/faults", {"model": primary["upstream_model"], "fault": kill})
        killed = time.monotonic()
        time.sleep(LOAD_AFTER_KILL_S)
        stop.set()
        for t in threads:  # a request still unanswered GIVE_UP_S after the window counts as failed
            t.join(max(0.0, killed + LOAD_AFTER_KILL_S + GIVE_UP_S - time.monotonic()))
        hung = sum(t.is_alive() for t in threads)
        cut = time.monotonic()
        seen = list(log)  # what arrived in time; the hung clients keep appending to `log` until the server stops
    after = [e for e in seen if e[1] > killed] + [(killed, cut, 0, "")] * hung
    others = [done for _, done, status, dep in after if status == 200 and dep != primary["name"]]
    return Takeover(model=model, kill=kill, primary=primary["name"],
                    takeover_s=round(min(others) - killed, 3) if others else None,
                    failed=sum(1 for e in after if e[2] != 200),
                    requests=len(after),
                    worst_s=round(max((done - max(sent, killed) for sent, done, _, _ in after), default=0.0), 3),
                    answered_by=sorted({e[3] for e in after if e[2] == 200}))
