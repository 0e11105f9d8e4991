"""Faults of the batch path, each against the simulator's batch APIs: partial line failures, failed and
expired provider jobs (fallback on demand, or FAILED with the reason), a scheduler that runs twice (or
takes over a dead run's step), cancellation before and during a provider job, the provider minimum,
the deadline and Azure's enqueued-token quota."""

import asyncio

import orjson
import pytest

from skyrelay.runtime.batch import records as rec
from skyrelay.runtime.batch.wiring import make_batcher
from skyrelay.runtime.jobs.model import JobStatus
from tests.batch.kit import PRICE, UPSTREAM, Rig, file_bytes, jsonl, line, sim_batch

pytestmark = pytest.mark.anyio


def fault(sim, provider: str, name: str, **params) -> None:
    sim_batch(sim.base_url, "POST", "/faults", {"model": UPSTREAM[provider], "fault": name, "params": params})


def cost(usage: dict, factor: float) -> float:
    return (usage["input_tokens"] * PRICE["input"] + usage["output_tokens"] * PRICE["output"]) * factor / 1000


async def submit(rig: Rig, n: int, model: str = "m-bedrock", tenant: str = "pro") -> list[str]:
    ids = []
    for i in range(n):
        job, _ = await rig.jobs.submit(rig.tenants[tenant], {"model": model, "prompt": f"job {i} words",
                                                             "mode": "batch", "max_tokens": 5})
        ids.append(job.id)
    return ids


async def batch_of(rig: Rig, n: int, model: str = "m-bedrock"):
    path = rig.cfg.store.path + f".{n}.jsonl"
    with open(path, "wb") as f:
        f.write(jsonl([line(f"c{k}", model, f"line {k} text") for k in range(n)]))
    import os

    pro = rig.tenants["pro"]
    file = await rig.batches.upload_file(pro, "batch", "in.jsonl", path, os.path.getsize(path))
    return await rig.batches.create(pro, {"input_file_id": file.id, "endpoint": "/v1/chat/completions",
                                          "completion_window": "24h"})


async def settle(rig: Rig, rounds: int = 10) -> None:
    for _ in range(rounds):
        await rig.batcher.tick()
        await rig.drain()


async def output(rig: Rig, batch_id: str) -> tuple[list[dict], list[dict], object]:
    b = await rig.batches.get("pro", batch_id)
    read = []
    for key in ("output_file_id", "error_file_id"):
        file_id = b.result.get(key)
        content = await file_bytes(rig, "pro", file_id) if file_id else b""
        read.append([orjson.loads(x) for x in content.splitlines()])
    return read[0], read[1], b


def created(sim, provider: str = "bedrock") -> int:
    return sim_batch(sim.base_url)["counts"].get(f"{provider}:created", 0)


async def test_partial_line_failures_land_in_the_error_file_and_as_failed_jobs(tmp_path, batch_sim):
    fault(batch_sim, "bedrock", "batch-partial", every=2)
    rig = Rig(tmp_path, batch_sim.base_url)
    try:
        ids = await submit(rig, 4)
        b = await batch_of(rig, 6)
        await settle(rig)
        jobs = [await rig.store.get(i) for i in ids]
        failed = [j for j in jobs if j.status == JobStatus.FAILED]
        done = [j for j in jobs if j.status == JobStatus.COMPLETE]
        assert failed and done and len(failed) + len(done) == 4
        assert all(j.error["code"] == "upstream_line_error" and "simulated line failure" in j.error["message"]
                   for j in failed)
        ok, errors, batch = await output(rig, b.id)
        assert errors and ok and len(ok) + len(errors) == 6
        assert all(e["error"]["code"] == "upstream_line_error" and e["response"] is None for e in errors)
        assert batch.result["request_counts"] == {"total": 6, "completed": len(ok), "failed": len(errors)}
        assert created(batch_sim) == 1
    finally:
        await rig.close()


@pytest.mark.parametrize("provider", ["bedrock", "azure_openai", "vertex"])
async def test_a_failed_provider_job_falls_back_on_demand_at_the_on_demand_price(tmp_path, batch_sim, provider):
    fault(batch_sim, provider, "batch-failed")
    rig = Rig(tmp_path, batch_sim.base_url)
    model = {"bedrock": "m-bedrock", "azure_openai": "m-azure", "vertex": "m-vertex"}[provider]
    try:
        ids = await submit(rig, 3, model)
        b = await batch_of(rig, 2, model)
        await settle(rig)
        for job_id in ids:
            job = await rig.store.get(job_id)
            assert job.status == JobStatus.COMPLETE, job.error
            assert job.batch["state"] == "on_demand" and job.batch["reason"] == "batch_failed"
            assert job.cost == pytest.approx(cost(job.usage, 1.0))  # on demand: the full price
        ok, errors, batch = await output(rig, b.id)
        assert len(ok) == 2 and not errors and {x["mode"] for x in ok} == {"on_demand"}
        assert batch.result["cost"] == pytest.approx(sum(x["cost"] for x in ok))
        assert batch_sim.calls()["providers"][provider]  # the on-demand calls reached the chat API
    finally:
        await rig.close()


async def test_without_fallback_a_failed_provider_job_fails_each_item_with_the_reason(tmp_path, batch_sim):
    fault(batch_sim, "bedrock", "batch-failed")
    rig = Rig(tmp_path, batch_sim.base_url, batch={"fallback": False})
    try:
        ids = await submit(rig, 2)
        b = await batch_of(rig, 3)
        await settle(rig)
        for job_id in ids:
            job = await rig.store.get(job_id)
            assert job.status == JobStatus.FAILED and job.error["code"] == "batch_failed"
            assert "simulated job failure" in job.error["message"]
        ok, errors, _ = await output(rig, b.id)
        assert not ok and [e["error"]["code"] for e in errors] == ["batch_failed"] * 3
    finally:
        await rig.close()


async def test_an_expired_provider_job_keeps_its_answers_and_sends_the_rest_on_demand(tmp_path, batch_sim):
    fault(batch_sim, "bedrock", "batch-expired")
    rig = Rig(tmp_path, batch_sim.base_url)
    try:
        b = await batch_of(rig, 8)
        await settle(rig)
        ok, errors, batch = await output(rig, b.id)
        modes = sorted(x["mode"] for x in ok)
        assert not errors and modes == ["batch"] * 4 + ["on_demand"] * 4
        for x in ok:
            assert x["cost"] == pytest.approx(cost(x["usage"], 0.5 if x["mode"] == "batch" else 1.0))
        assert batch.result["request_counts"]["completed"] == 8
    finally:
        await rig.close()


async def test_a_scheduler_that_runs_twice_submits_once_and_applies_once(tmp_path, batch_sim):
    rig = Rig(tmp_path, batch_sim.base_url)
    twin = make_batcher(rig.store, rig.queue, rig.cfg, rig.config, name="twin")  # a second schedule, same store
    try:
        ids = await submit(rig, 5)
        b = await batch_of(rig, 5)
        for _ in range(6):
            await asyncio.gather(rig.batcher.tick(), twin.tick(), rig.batcher.tick())
            await rig.drain()
        assert created(batch_sim) == 1
        for job_id in ids:
            job = await rig.store.get(job_id)
            assert job.status == JobStatus.COMPLETE
            assert [h["event"] for h in job.history].count("completed") == 1
        ok, _, batch = await output(rig, b.id)
        assert sorted(x["custom_id"] for x in ok) == [f"c{k}" for k in range(5)]
        assert batch.result["cost"] == pytest.approx(sum(x["cost"] for x in ok))
    finally:
        await twin.close()
        await rig.close()


async def test_a_dead_runs_steps_are_taken_over_without_a_second_submit_or_apply(tmp_path, batch_sim):
    fault(batch_sim, "bedrock", "batch-slow", seconds=0.5)
    rig = Rig(tmp_path, batch_sim.base_url)
    try:
        ids = await submit(rig, 3)
        await rig.batcher.tick()
        [marker] = await rig.storage.list("open")
        gid = marker.rsplit("/", 1)[1]
        group = await rig.store.get(gid)
        assert group.attempts == rec.RUNNING
        # the submitter "died" before it recorded the provider job: back to SUBMITTING, lease over
        await rig.store.transition(gid, [JobStatus.PROCESSING], None, {"attempts": rec.SUBMITTING,
                                                                       "claim": {"msg": "dead", "until": 0}})
        await asyncio.sleep(0.6)
        await settle(rig, 3)
        counts = sim_batch(batch_sim.base_url)["counts"]
        assert counts["bedrock:created"] == 1 and counts["bedrock:replayed"] == 1  # clientRequestToken
        group = await rig.store.get(gid)
        assert group.status == JobStatus.COMPLETE and group.result["completed"] == 3
        # and an applier that "died" mid-apply: re-applying changes nothing
        await rig.store.transition(gid, [JobStatus.COMPLETE], JobStatus.PROCESSING,
                                   {"attempts": rec.APPLYING, "claim": {"msg": "dead", "until": 0}})
        await rig.storage.put(f"open/br/{gid}", b"")
        before = [await rig.store.get(i) for i in ids]
        await settle(rig, 2)
        after = [await rig.store.get(i) for i in ids]
        assert [j.to_doc() for j in after] == [j.to_doc() for j in before]
        assert (await rig.store.get(gid)).status == JobStatus.COMPLETE
    finally:
        await rig.close()


@pytest.mark.parametrize("provider", ["azure_openai", "vertex"])
async def test_a_dead_submitter_is_found_by_name_not_submitted_again(tmp_path, batch_sim, provider):
    fault(batch_sim, provider, "batch-slow", seconds=0.5)
    rig = Rig(tmp_path, batch_sim.base_url)
    model = {"azure_openai": "m-azure", "vertex": "m-vertex"}[provider]
    try:
        ids = await submit(rig, 2, model)
        await rig.batcher.tick()
        [marker] = await rig.storage.list("open")
        gid = marker.rsplit("/", 1)[1]
        first = (await rig.store.get(gid)).batch["provider_job"]
        # the submitter "died" after the provider made the job, before the batcher recorded it
        await rig.store.transition(gid, [JobStatus.PROCESSING], None, {"attempts": rec.SUBMITTING,
                                                                       "claim": {"msg": "dead", "until": 0}})
        await asyncio.sleep(0.6)
        await settle(rig, 3)
        assert created(batch_sim, provider) == 1  # found by its name, not submitted again
        group = await rig.store.get(gid)
        assert group.batch["provider_job"] == first and group.batch.get("recovered") is True
        states = [(await rig.store.get(i)).batch["state"] for i in ids]
        assert states == ["completed", "completed"]
    finally:
        await rig.close()


async def test_cancel_before_the_provider_job_runs_nothing(tmp_path, batch_sim):
    rig = Rig(tmp_path, batch_sim.base_url)
    try:
        b = await batch_of(rig, 4)
        cancelling = await rig.batches.cancel("pro", b.id)
        assert cancelling.batch["state"] == "cancelling"
        await settle(rig, 3)
        batch = await rig.batches.get("pro", b.id)
        assert batch.batch["state"] == "cancelled"
        assert batch.result["request_counts"] == {"total": 4, "completed": 0, "failed": 0}
        assert created(batch_sim) == 0 and not await rig.storage.list("pending")
    finally:
        await rig.close()


async def test_cancel_during_the_provider_job_cancels_it(tmp_path, batch_sim):
    fault(batch_sim, "bedrock", "batch-slow", seconds=3600)
    rig = Rig(tmp_path, batch_sim.base_url)
    try:
        b = await batch_of(rig, 3)
        await rig.batcher.tick()
        assert created(batch_sim) == 1
        held = await submit(rig, 1, tenant="free")  # a single job, in a provider job of its own
        await rig.batches.cancel("pro", b.id)
        await settle(rig, 3)
        counts = sim_batch(batch_sim.base_url)["counts"]
        assert counts.get("bedrock:cancelled") == 1 and counts["bedrock:created"] == 2
        batch = await rig.batches.get("pro", b.id)
        assert batch.batch["state"] == "cancelled" and batch.result["request_counts"]["completed"] == 0
        job = await rig.store.get(held[0])
        cancelled = await rig.jobs.cancel("free", job.id)  # a held single job: cancelled while in its group
        assert cancelled.status == JobStatus.FAILED and cancelled.error["code"] == "cancelled"
    finally:
        await rig.close()


async def test_below_the_provider_minimum_work_waits_then_runs_on_demand(tmp_path, batch_sim):
    rig = Rig(tmp_path, batch_sim.base_url, batch={"min_records": 5, "max_wait_s": 3600})
    try:
        ids = await submit(rig, 3)
        await settle(rig, 2)
        states = [(await rig.store.get(i)).batch["state"] for i in ids]
        assert states == ["waiting"] * 3 and created(batch_sim) == 0  # younger than max_wait_s
    finally:
        await rig.close()
    rig = Rig(tmp_path / "b", batch_sim.base_url, batch={"min_records": 5, "max_wait_s": 0})
    try:
        ids = await submit(rig, 3)
        await settle(rig, 3)
        jobs = [await rig.store.get(i) for i in ids]
        assert all(j.status == JobStatus.COMPLETE and j.batch["reason"] == "below_minimum" for j in jobs)
        assert created(batch_sim) == 0
    finally:
        await rig.close()


async def test_past_the_deadline_the_provider_job_is_cancelled_and_its_lines_run_on_demand(tmp_path, batch_sim):
    fault(batch_sim, "bedrock", "batch-slow", seconds=3600)
    rig = Rig(tmp_path, batch_sim.base_url, batch={"deadline_s": 0.3})
    try:
        ids = await submit(rig, 2)
        await rig.batcher.tick()
        await asyncio.sleep(0.4)
        await settle(rig, 3)
        assert sim_batch(batch_sim.base_url)["counts"].get("bedrock:cancelled") == 1
        for job_id in ids:
            job = await rig.store.get(job_id)
            assert job.status == JobStatus.COMPLETE and job.batch["reason"] == "batch_deadline"
    finally:
        await rig.close()


async def test_azure_groups_stay_within_the_enqueued_token_quota(tmp_path, batch_sim):
    from skyrelay.runtime.canonical import Message
    from skyrelay.runtime.router.limits import estimate_prompt

    sim_batch(batch_sim.base_url, "POST", "", {"delay_s": 0.3})
    per_job = estimate_prompt([Message("user", "job 0 words")]) + 5  # each job's reservation (prompt + max_tokens)
    quota = 2 * per_job
    rig = Rig(tmp_path, batch_sim.base_url, batch={"max_enqueued_tokens": quota})
    try:
        ids = await submit(rig, 4, "m-azure")
        assert {int(k.rsplit("-", 1)[1].removesuffix(".jsonl")) for k in await rig.storage.list("pending")} == {per_job}
        await rig.batcher.tick()
        assert created(batch_sim, "azure_openai") == 1  # two jobs fit the quota; the other two wait
        opened = [await rig.store.get(k.rsplit("/", 1)[1]) for k in await rig.storage.list("open")]
        assert [g.request["tokens"] for g in opened] == [quota]
        for _ in range(30):
            await asyncio.sleep(0.1)
            await rig.batcher.tick()
            await rig.drain()
        statuses = [(await rig.store.get(i)).status for i in ids]
        assert statuses == [JobStatus.COMPLETE] * 4 and created(batch_sim, "azure_openai") == 2
    finally:
        await rig.close()
