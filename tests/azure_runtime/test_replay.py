"""Dead-letter replay on Azure through `skyrelay jobs replay-dlq --deployment azure` (a subprocess, with
the app settings AsyncJobs writes): a poison job's message in `<queue>/$DeadLetterQueue` is counted
by the dry run (nothing changes), then replayed: the job back to PENDING with its attempts reset and a
`replayed` history entry, a fresh message that the trigger completes, the dead-letter queue empty. A
dead letter whose job is COMPLETE is left where it is."""


import pytest

from tests.azure_runtime.kit import FAST_UPSTREAMS, AzureKit
from tests.contracts.azure_adapters import servicebus_producer
from tests.replay_cli import replay_dlq

pytestmark = pytest.mark.anyio


def cli(kit, tmp_path, *args) -> dict:
    return replay_dlq(kit, tmp_path, "azure", *args)


async def test_replay_dlq_dry_run_then_replay_on_service_bus(sim, monkeypatch, tmp_path):
    kit = await AzureKit.start(sim, monkeypatch, max_receives=2)
    try:
        kit.fail_fast_model("500")
        _, _, poison = await kit.http("POST", "/v1/jobs", {"model": "fast", "prompt": "poison"})
        while got := await kit.receive(wait_s=3):
            for p, m in got:
                await kit.trigger(p, m)
        assert (await kit.store.get(poison["id"])).status.value == "FAILED"
        # a stale dead letter: its job completed since
        _, _, done = await kit.http("POST", "/v1/jobs", {"model": "fast", "prompt": "fine"})
        sim.reset()
        assert await kit.run_trigger() == [None]
        assert (await kit.store.get(done["id"])).status.value == "COMPLETE"
        producer = servicebus_producer(kit.queues, 2)
        try:  # what Service Bus would do with a message left over from a redelivery
            await producer.enqueue(done["id"])
            (stale,) = await kit.receive(1)
            from skyrelay.runtime.queues.servicebus import parse_function_message

            assert await producer.dead_letter_by_token(parse_function_message(stale[1], "interactive"), "by hand")
        finally:
            await producer.close()
        assert kit.counts()["dead_lettered"] == 2

        dry = cli(kit, tmp_path, "--dry-run")
        assert dry["dry_run"] and dry["count"] == 2
        assert dry["counts"] == {"would_replay": 1, "skipped_complete": 1}
        assert (await kit.store.get(poison["id"])).status.value == "FAILED" and kit.counts()["dead_lettered"] == 2

        report = cli(kit, tmp_path)
        assert report["counts"] == {"replayed": 1, "skipped_complete": 1}
        job = await kit.store.get(poison["id"])
        assert (job.status.value, job.attempts, job.error) == ("PENDING", 0, None)
        assert job.history[-1]["event"] == "replayed" and job.history[-1]["reason"] == "upstream_server_error"
        assert kit.counts()["dead_lettered"] == 1  # the COMPLETE job's dead letter stays

        assert await kit.run_trigger() == [None]  # the fresh message, the provider healthy again
        replayed = await kit.store.get(poison["id"])
        assert replayed.status.value == "COMPLETE" and replayed.attempts == 1
        assert sum(sim.total(m) for m in FAST_UPSTREAMS) >= 1
    finally:
        await kit.close()
