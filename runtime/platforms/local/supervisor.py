"""Keeps `skyrelay serve`'s job worker processes alive, and says how they are.

A worker process that dies (SIGKILL, OOM, a crash: a signal or a non-zero exit) is logged at once and
started again after a backoff: `jobs.worker.restart_backoff_s`, doubling on each death in a row up to
`restart_backoff_max_s`, back to the start once a process has lived `STABLE_S`. Its jobs are not
lost meanwhile: their messages come back after the visibility timeout and the restarted worker (or
another one) claims them. A worker that exits 0 was asked to stop (SIGTERM or SIGINT, e.g. the whole
process group on Ctrl-C): that is logged and not undone. `health()` feeds GET /healthz: 503 while no
worker is alive.

The first slot runs the sweeper, also after a restart.
"""

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("skyrelay.local.supervisor")
STABLE_S = 30.0  # a process that lived this long resets its slot's backoff
POLL_S = 0.25


@dataclass
class Slot:
    index: int
    proc: subprocess.Popen | None = None
    started: float = 0.0
    deaths: int = 0  # in a row, without a stable run between them
    restart_at: float | None = None  # set while a dead worker waits for its restart
    stopped: bool = False  # exited cleanly: asked to stop, so not restarted

    @property
    def name(self) -> str:
        return f"worker-{self.index + 1}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def _describe(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class WorkerSupervisor:
    def __init__(self, config_path, processes: int, backoff_s: float, backoff_max_s: float,
                 env: dict | None = None, clock: Callable[[], float] = time.monotonic):
        self.config_path = str(config_path)
        self.slots = [Slot(i) for i in range(processes)]
        self.backoff_s, self.backoff_max_s = backoff_s, backoff_max_s
        self.env = env or {}
        self.clock = clock
        self.restarts = 0
        self._stopping = False

    # ---- processes ----
    def _spawn(self, slot: Slot) -> None:
        cmd = [sys.executable, "-m", "skyrelay.runtime.platforms.local.workers", self.config_path,
               "--name", slot.name, "--parent", str(os.getpid())]
        if slot.index:
            cmd.append("--no-sweep")
        slot.proc = subprocess.Popen(cmd, env={**os.environ, **self.env})
        slot.started = self.clock()

    def start(self) -> None:
        for slot in self.slots:
            self._spawn(slot)

    def check(self) -> None:
        """One look at every slot: note deaths, and restart those whose backoff is over."""
        if self._stopping:
            return
        now = self.clock()
        for slot in self.slots:
            if slot.stopped or slot.alive():
                continue
            if slot.proc is not None and slot.proc.returncode == 0:
                slot.stopped = True
                log.warning("job %s (pid %d) was stopped (exit code 0); not restarting it", slot.name, slot.proc.pid)
                continue
            if slot.restart_at is None:  # a death we have not seen yet
                lived = now - slot.started
                slot.deaths = 1 if lived >= STABLE_S else slot.deaths + 1
                delay = min(self.backoff_max_s, self.backoff_s * 2 ** (slot.deaths - 1))
                slot.restart_at = now + delay
                pid, code = slot.proc.pid if slot.proc else None, slot.proc.returncode if slot.proc else None
                log.error("job %s (pid %s) died (%s) after %.1fs; restarting in %.1fs",
                          slot.name, pid, _describe(code), lived, delay)
            if now >= slot.restart_at:
                try:
                    self._spawn(slot)
                except OSError as exc:  # could not even start: try again after the next backoff
                    log.error("job %s could not be started: %s", slot.name, exc)
                    slot.started, slot.restart_at = now, None
                    continue
                slot.restart_at = None
                self.restarts += 1
                log.warning("job %s restarted as pid %d", slot.name, slot.proc.pid)

    async def run(self) -> None:
        """Checks the slots until cancelled."""
        while not self._stopping:
            self.check()
            await asyncio.sleep(POLL_S)

    def health(self) -> dict:
        alive = sum(slot.alive() for slot in self.slots)
        status = "ok" if alive == len(self.slots) else ("degraded" if alive else "unavailable")
        return {"status": status, "workers": {"expected": len(self.slots), "alive": alive,
                                              "restarts": self.restarts}}

    def stop(self, grace_s: float) -> None:
        """No more restarts; SIGTERM (each worker finishes or releases its in-flight jobs within
        `grace_s`), then SIGKILL."""
        self._stopping = True
        stop_worker_processes([s.proc for s in self.slots if s.proc is not None], grace_s)


def stop_worker_processes(procs: list[subprocess.Popen], grace_s: float) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(grace_s + 10)
        except subprocess.TimeoutExpired:
            log.warning("worker process %d did not stop; killing it", p.pid)
            p.kill()
            p.wait()
