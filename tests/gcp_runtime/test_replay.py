"""Dead-letter replay on GCP through `skyrelay jobs replay-dlq --deployment gcp` (a subprocess, with the
environment AsyncJobs writes): Cloud Tasks keeps no dead letters, so the dead letters are the FAILED
jobs the worker gave up on. The dry run counts them (nothing changes); the replay resets each to
PENDING (attempts 0, a `replayed` history entry with the reason) and sends a fresh task that the
worker completes. A job that failed for good on its first answer, and a COMPLETE job, are not
dead letters and stay as they are."""


import pytest

from skyrelay.runtime.jobs.model import JobStatus
from tests.contracts.test_store_contract import make_job
from tests.gcp_runtime.kit import GcpKit
from tests.replay_cli import replay_dlq

pytestmark = pytest.mark.anyio


def cli(kit, tmp_path, *args) -> dict:
    return replay_dlq(kit, tmp_path, "gcp", *args)


async def test_replay_dlq_dry_run_then_replay_over_failed_jobs_in_firestore(sim, tmp_path):
    kit = GcpKit.start(sim, max_receives=2)
    try:
        kit.fail_fast_model("500")
        _, _, poison = await kit.http("POST", "/v1/jobs", {"model": "fast", "prompt": "poison"})
        assert (await kit.wait_final(poison["id"])).status == JobStatus.FAILED
        await kit.settled()
        # failed for good on its first answer (no queue would keep its message): not a dead letter
        final, _ = await kit.store.create(make_job(tenant="demo-pro"))
        await kit.store.transition(final.id, [JobStatus.PENDING], JobStatus.FAILED, {
            "error": {"code": "upstream_bad_request", "message": "bad"},
            "history": [{"event": "failed", "attempt": 1, "dead_lettered": False}]})
        sim.reset()
        _, _, done = await kit.http("POST", "/v1/jobs", {"model": "fast", "prompt": "fine"})
        assert (await kit.wait_final(done["id"])).status == JobStatus.COMPLETE

        dry = cli(kit, tmp_path, "--dry-run")
        assert dry["dry_run"] and dry["count"] == 1 and dry["counts"] == {"would_replay": 1}
        assert dry["jobs"][0]["job_id"] == poison["id"] and dry["jobs"][0]["reason"] == "upstream_server_error"
        assert (await kit.store.get(poison["id"])).status == JobStatus.FAILED  # the dry run changed nothing

        report = cli(kit, tmp_path)
        assert report["counts"] == {"replayed": 1}
        replayed = await kit.wait_final(poison["id"])  # the fresh task, the provider healthy again
        assert replayed.status == JobStatus.COMPLETE and replayed.attempts == 1
        entry = [h for h in replayed.history if h["event"] == "replayed"][0]
        assert entry["reason"] == "upstream_server_error" and entry["previous_attempts"] == 2
        assert (await kit.store.get(final.id)).status == JobStatus.FAILED  # left alone
        assert cli(kit, tmp_path, "--dry-run")["count"] == 0
    finally:
        await kit.close()
