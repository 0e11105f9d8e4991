"""What every durability test shares, whatever store and queue it runs on (SQLite, Cosmos + Service
Bus, Firestore + Cloud Tasks): the worker processes' fake upstream, which logs each call with an
O_APPEND write that survives SIGKILL, and the verdict over the jobs and that log: 0 lost, 0 completed
twice, every upstream call explained by an attempt, the poison job FAILED after the configured attempts.
"""

import asyncio
import collections
import os
import random

from skyrelay.runtime.canonical import ChatResult, Usage
from skyrelay.runtime.errors import UpstreamServerError
from skyrelay.runtime.jobs.model import JobStatus

POISON = "poison"  # the prompt the fake upstream always fails


def logging_upstream(log_path: str):
    """A router's `generate` stand-in: one log line per call (`<pid> <prompt>`), a few ms of work, and
    an upstream error for the poison prompt."""
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    rng = random.Random()

    async def generate(request, tenant, preference=None):
        prompt = request.messages[0].content
        os.write(fd, f"{os.getpid()} {prompt}\n".encode())
        await asyncio.sleep(rng.uniform(0.002, 0.012))
        if prompt == POISON:
            raise UpstreamServerError("always fails")
        return ChatResult(f"done {prompt}", Usage(1, 0, 0, 1), "stop", "fake")

    return generate


def assert_nothing_lost(jobs: dict, submitted_ids, log_text: str, max_attempts: int) -> dict:
    """The verdict. `jobs` maps id -> Job as stored at the end. Returns the figures the test prints."""
    assert len(submitted_ids) > 0 and set(jobs) == set(submitted_ids)  # lost: 0
    assert all(j.status in (JobStatus.COMPLETE, JobStatus.FAILED) for j in jobs.values())
    calls = collections.Counter(line.split(" ", 1)[1] for line in log_text.splitlines())
    by_prompt = {j.request["messages"][0]["content"]: j for j in jobs.values()}
    for prompt, job in by_prompt.items():  # completed twice: 0, every call explained by an attempt
        assert calls[prompt] <= job.attempts, (prompt, calls[prompt], job.attempts)
        if job.status == JobStatus.COMPLETE:
            assert calls[prompt] >= 1
            assert [h["event"] for h in job.history].count("completed") == 1
            assert job.result["text"] == f"done {prompt}"
    poison = by_prompt[POISON]
    assert poison.status == JobStatus.FAILED and poison.attempts == max_attempts
    # every other job completed: one can only fail here by crashing max_attempts workers in a row
    others_failed = [j for j in jobs.values() if j.status == JobStatus.FAILED and j.id != poison.id]
    assert all(j.error["code"] == "max_attempts" for j in others_failed)
    return {"calls": sum(calls.values()), "completed": len(jobs) - 1 - len(others_failed),
            "max_attempts_failures": len(others_failed), "poison": poison, "by_calls": calls}


def run_with_kills(start, left, n_jobs: int, min_kills: int, timeout_s: float, poll_s: float, proc=None) -> int:
    """Runs the worker process (`start()` -> Popen) until `left()` (jobs not final + messages not
    settled) is 0, SIGKILLing and restarting it `min_kills` times at random points of progress, not
    of time, so a fast or a loaded machine gets every kill in. `proc`: a worker already started (a push
    queue needs its worker up before the jobs are seeded). Returns the kills done."""
    import signal
    import time

    kill_at = sorted(random.Random().sample(range(n_jobs // 10, n_jobs * 9 // 10), min_kills))
    kills = 0
    proc = proc or start()
    try:
        deadline = time.monotonic() + timeout_s
        while (remaining := left()) and time.monotonic() < deadline:
            if kills < min_kills and 2 * (n_jobs + 1) - remaining >= 2 * kill_at[kills]:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                kills += 1
                proc = start()
            else:
                time.sleep(poll_s)
    finally:
        proc.kill()
        proc.wait()
    return kills
