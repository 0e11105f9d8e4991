"""The batcher on Azure Functions, over the loopback peers: the Function App indexes a `batcher` timer
(the AWS batch schedule's 5-minute period); batch-mode jobs submitted through the HTTP function wait in
the batch container (Azurite, reached as BATCH_BUCKET's container); one run of the timer function forms
ONE Azure OpenAI batch job on the simulator; a later run maps the results back and completes the jobs
(Cosmos) at the batch price. The metric lines the worker logs (the App Insights traces) carry exactly
the fields the review dashboard's queries read."""

import asyncio
import json
import logging
import re
import uuid

import pytest
from azure.functions.timer import TimerRequest

from skyrelay import deployment as contract
from skyrelay.components.azure.observability import METRIC_LINES, REVIEW_QUERIES
from skyrelay.runtime.platforms.azure_functions import function_app
from skyrelay.runtime.platforms.azure_functions.runtime import AZURE, container_url
from tests import peers
from tests.azure_runtime.kit import AzureKit
from tests.batch.kit import sim_batch

pytestmark = pytest.mark.anyio
PRICE = {"input": 0.002, "output": 0.004}
ACCOUNT = "https://stskyrelaydev.blob.core.windows.net"  # what AsyncJobs writes; Azurite stands in for it


def add_batch_deployment(raw: dict) -> None:
    """A `bulk` model served by an Azure OpenAI GlobalBatch deployment on the simulator."""
    raw["deployments"].append({
        "name": "bulk-azure-batch", "model": "bulk", "provider": "azure_openai", "upstream_model": "gpt-4o-batch",
        "endpoint": raw["deployments"][0]["endpoint"], "api_version": "2024-10-21", "auth": "none",
        "price": PRICE, "model_class": "small", "batch": {"min_records": 1, "max_wait_s": 0}})
    raw["models"]["bulk"] = {"deployments": ["bulk-azure-batch"]}


def batch_container() -> str:
    from azure.storage.blob import BlobServiceClient

    name = "batch-" + uuid.uuid4().hex[:12]
    BlobServiceClient.from_connection_string(peers.azurite()).create_container(name)
    return name


@pytest.fixture
async def kit(sim, monkeypatch):
    sim_batch(sim.base_url, "POST", "/reset")
    sim_batch(sim.base_url, "POST", "", {"delay_s": 1.0})  # the provider job runs 1 s after its create
    container = batch_container()
    env = {contract.BATCH_BUCKET: f"{ACCOUNT}/{container}", contract.BLOB_EMULATOR_CONNECTION: peers.azurite()}
    k = await AzureKit.start(sim, monkeypatch, edit=add_batch_deployment, env=env)
    k.batch_container = container
    yield k
    await k.close()


def test_the_app_indexes_the_batcher_timer_every_five_minutes():
    app = function_app.make_app(api=lambda: None, worker=lambda: None)
    triggers = {f.get_function_name(): f.get_trigger() for f in app.get_functions()}
    assert type(triggers["batcher"]).__name__ == "TimerTrigger"
    assert triggers["batcher"].schedule == function_app.BATCH_SCHEDULE == "0 */5 * * * *"
    assert triggers["batcher"].run_on_startup is False


def test_batch_bucket_becomes_the_blob_backend_with_the_identity():
    env = {contract.BATCH_BUCKET: f"{ACCOUNT}/batch", contract.AZURE_CLIENT_ID: "0000-client"}
    assert AZURE.storage(env) == {"backend": "blob", "options": {
        "account_url": ACCOUNT, "container": "batch", "client_id": "0000-client"}}
    assert AZURE.storage({}) is None  # no container deployed: batch work off
    with pytest.raises(ValueError, match=contract.BATCH_BUCKET):
        container_url("batch")  # a bare name is not the container URL AsyncJobs writes
    with pytest.raises(ValueError, match=contract.BATCH_BUCKET):
        container_url(f"{ACCOUNT}/batch/extra")


def blob_names(container: str) -> list[str]:
    from azure.storage.blob import BlobServiceClient

    client = BlobServiceClient.from_connection_string(peers.azurite()).get_container_client(container)
    return [b.name for b in client.list_blobs()]


def batch_cost(usage: dict) -> float:
    return (usage["input_tokens"] * PRICE["input"] + usage["output_tokens"] * PRICE["output"]) * 0.5 / 1000


def metric_lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records
            if r.name == contract.AZURE_METRIC_LOGGER and r.getMessage().startswith(contract.AZURE_METRIC_MARKER)]


async def test_timer_ticks_form_one_azure_batch_then_complete_the_jobs_and_log_the_dashboard_fields(kit, caplog):
    caplog.set_level(logging.INFO, logger=contract.AZURE_METRIC_LOGGER)
    prompts = ["alpha bravo", "charlie delta echo", "foxtrot golf"]
    ids = []
    for i, prompt in enumerate(prompts):
        status, _, job = await kit.http("POST", "/v1/jobs", {
            "model": "bulk", "mode": "batch", "max_tokens": 3 + i, "messages": [{"role": "user", "content": prompt}]})
        assert status == 202, job
        ids.append(job["id"])
    assert [(await kit.store.get(j)).batch["state"] for j in ids] == ["waiting"] * len(ids)
    assert any(n.startswith("pending/") for n in blob_names(kit.batch_container))  # the JSONL waits in Blob
    assert await kit.receive(wait_s=1.0) == []  # batch-mode work sends no Service Bus message

    await kit.functions["batcher"](TimerRequest())  # the first tick: one provider batch job
    counts = sim_batch(kit.sim.base_url)["counts"]
    assert counts.get("azure_openai:created") == 1, counts
    [sim_job] = sim_batch(kit.sim.base_url)["jobs"]
    assert sim_job["state"] == "running"  # not yet run: nothing to map back on this tick
    assert [(await kit.store.get(j)).status.value for j in ids] == ["PROCESSING"] * len(ids)

    for _ in range(60):  # later ticks poll it and map its results back
        await asyncio.sleep(0.5)
        await kit.functions["batcher"](TimerRequest())
        if [(await kit.store.get(j)).status.value for j in ids] == ["COMPLETE"] * len(ids):
            break
    else:
        raise AssertionError("the batch jobs did not complete")
    assert sim_batch(kit.sim.base_url)["counts"].get("azure_openai:created") == 1  # never submitted twice
    [sim_job] = sim_batch(kit.sim.base_url)["jobs"]
    assert sim_job["lines"] == len(prompts) and sim_job["state"] == "completed"  # the three jobs, one provider job
    for job_id, prompt, max_tokens in zip(ids, prompts, (3, 4, 5), strict=True):
        job = await kit.store.get(job_id)
        assert set(job.result["text"].split()) <= set(prompt.split())  # its own answer, not a neighbour's
        assert job.usage["output_tokens"] == max_tokens
        assert job.cost == pytest.approx(batch_cost(job.usage)) and job.cost > 0
        assert job.served_by == "bulk-azure-batch" and job.batch["state"] == "completed"

    # an on-demand job through the Service Bus trigger: its job line
    status, _, job = await kit.http("POST", "/v1/jobs", {"model": "fast", "messages": [{"role": "user", "content": "hi"}]})
    assert status == 202
    assert await kit.run_trigger() == [None]
    assert (await kit.store.get(job["id"])).status.value == "COMPLETE"

    lines = metric_lines(caplog)
    batch = [x for x in lines if x["Mode"] == "batch"]
    on_demand = [x for x in lines if x["Mode"] == "on_demand"]
    assert sum(x["Jobs"] for x in batch) == len(prompts)
    total = sum([(await kit.store.get(j)).cost for j in ids])
    assert sum(x["BatchCostUsd"] for x in batch) == pytest.approx(total)
    assert sum(x["BatchSavedUsd"] for x in batch) == pytest.approx(total)  # the batch price is half
    [line] = on_demand  # one line for the one on-demand job (batch jobs are counted by the batcher's lines)
    assert line["Tenant"] == "demo-pro" and line["Status"] == "COMPLETE" and line["Jobs"] == 1 and line["Tokens"] > 0
    assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "skyrelay"

    split: dict = {}  # what the "Batch vs on-demand jobs" tile sums: job lines, and the batcher's batch lines
    for x in lines:
        if "Status" in x or x["Mode"] == "batch":
            split[x["Mode"]] = split.get(x["Mode"], 0) + x["Jobs"]
    assert split == {"batch": len(prompts), "on_demand": 1}
    assert "isnotnull(m.Status) or tostring(m.Mode) == 'batch'" in REVIEW_QUERIES["Batch vs on-demand jobs"]

    emitted = {k for x in lines for k in x if k != "_aws"}
    read = {f for q in REVIEW_QUERIES.values() for f in re.findall(r"\bm\.(\w+)", q)}
    assert emitted == read == {*contract.AZURE_METRIC_FIELDS.values(), *contract.AZURE_METRIC_LABELS.values(),
                               contract.AZURE_JOB_STATUS_FIELD}
    assert all(q.startswith(METRIC_LINES) for q in REVIEW_QUERIES.values() if "m." in q)


async def test_without_a_batch_container_the_timer_is_a_no_op(sim, monkeypatch):
    k = await AzureKit.start(sim, monkeypatch)
    try:
        await k.functions["batcher"](TimerRequest())
        assert await k.app.skyrelay_state["worker"].batch_tick() == {"batch": "disabled"}
    finally:
        await k.close()
