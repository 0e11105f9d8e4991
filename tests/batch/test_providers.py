"""Per provider, over its storage peer (Bedrock / S3 on moto, Azure OpenAI / Blob on Azurite, Vertex /
GCS on gcp-storage-emulator): mixed work (single jobs of two tenants with different prompts and
max_tokens, and a batch file's lines) goes out as ONE provider batch job; the simulator answers in a
shuffled order; every answer lands on the job or line that asked it, at the batch price, and every
job's webhook arrives signed (verified with the `standardwebhooks` library)."""

import json

import orjson
import pytest
from standardwebhooks import Webhook

from skyrelay.runtime.jobs.webhooks import new_secret
from tests.batch.conftest import MODELS, STORAGES
from tests.batch.kit import PRICE, Rig, file_bytes, jsonl, line, sim_batch
from tests.jobs.test_webhooks import Receiver

pytestmark = pytest.mark.anyio
SECRETS = {"pro": new_secret(), "free": new_secret()}
PROMPTS = ["alpha bravo", "charlie delta echo", "foxtrot", "golf hotel india juliet", "kilo lima", "mike"]


def batch_cost(usage: dict) -> float:
    """What the line costs at the batch price: half of PRICE (the providers' documented 50%)."""
    return (usage["input_tokens"] * PRICE["input"] * 0.5 + usage["output_tokens"] * PRICE["output"] * 0.5) / 1000


async def ticks(rig: Rig, until, n: int = 20) -> None:
    for _ in range(n):
        await rig.batcher.tick()
        await rig.drain()
        if await until():
            return
    raise AssertionError("the batch work did not finish")


@pytest.mark.parametrize("provider", list(STORAGES))
async def test_mixed_jobs_go_out_as_one_provider_job_and_come_back_to_the_right_jobs(tmp_path, batch_sim, provider):
    storage, endpoints = STORAGES[provider]()
    sim_batch(batch_sim.base_url, "POST", "", {"endpoints": endpoints})
    hooks = {"secrets": {t: [s] for t, s in SECRETS.items()}, "allow_hosts": ["127.0.0.1/32"]}
    rig = Rig(tmp_path, batch_sim.base_url, storage=storage, webhooks=hooks)
    model = MODELS[provider]
    try:
        async with Receiver() as rx:
            jobs = {}
            for i, prompt in enumerate(PROMPTS):
                tenant = rig.tenants["pro" if i % 2 else "free"]
                doc = {"model": model, "prompt": prompt, "mode": "batch", "callback_url": rx.url,
                       "max_tokens": 3 + i}
                job, created = await rig.jobs.submit(tenant, doc)
                assert created and job.status.value == "PROCESSING" and job.batch["state"] == "waiting"
                jobs[job.id] = (tenant.name, prompt, 3 + i)
            path = tmp_path / "lines.jsonl"
            path.write_bytes(jsonl([line(f"line-{k}", model, f"november oscar {k} papa") for k in range(4)]))
            pro = rig.tenants["pro"]
            f = await rig.batches.upload_file(pro, "batch", "lines.jsonl", str(path), path.stat().st_size)
            b = await rig.batches.create(pro, {"input_file_id": f.id, "endpoint": "/v1/chat/completions",
                                               "completion_window": "24h"})

            async def finished():
                states = [(await rig.store.get(j)).status.value for j in jobs]
                return all(s == "COMPLETE" for s in states) and (await rig.batches.get("pro", b.id)).batch[
                    "state"] == "completed" and len(rx.seen) >= len(jobs)

            await ticks(rig, finished)
            counts = sim_batch(batch_sim.base_url)["counts"]
            assert counts.get(f"{provider}:created") == 1, counts  # ten requests, one provider job
            assert sum(v for k, v in counts.items() if k.endswith(":created")) == 1
            [sim_job] = sim_batch(batch_sim.base_url)["jobs"]
            assert sim_job["lines"] == len(PROMPTS) + 4 and sim_job["state"] == "completed"

            if provider != "azure_openai":  # the provider's own output, in the object storage: not in input order
                [out_key] = [k for k in await rig.storage.list("groups") if k.endswith((".jsonl.out", "predictions.jsonl"))]
                order = [int(json.loads(x)["recordId"] if provider == "bedrock" else
                             json.loads(x)["request"]["labels"]["skyrelay_record"])
                         for x in (await rig.storage.get(out_key)).splitlines()]
                assert sorted(order) == list(range(len(PROMPTS) + 4)) and order != sorted(order)
            for job_id, (tenant, prompt, max_tokens) in jobs.items():
                job = await rig.store.get(job_id, tenant=tenant)
                words = job.result["text"].split()
                assert words and set(words) <= set(prompt.split()), (prompt, job.result)  # its own answer
                assert job.usage["output_tokens"] == max_tokens
                assert job.cost == pytest.approx(batch_cost(job.usage)) and job.cost > 0
                assert job.served_by == {"bedrock": "br", "azure_openai": "az", "vertex": "vx"}[provider]
                assert job.batch["state"] == "completed"

            assert len(rx.seen) == len(jobs)  # one webhook per job
            for headers, body in rx.seen:
                event = json.loads(body)
                tenant = jobs[event["data"]["id"]][0]
                Webhook(SECRETS[tenant]).verify(body, headers)  # raises unless signed with the tenant's secret
                assert event["type"] == "job.completed" and event["data"]["mode"] == "batch"

            batch = await rig.batches.get("pro", b.id)
            assert batch.result["request_counts"] == {"total": 4, "completed": 4, "failed": 0}
            out = await file_bytes(rig, "pro", batch.result["output_file_id"])
            lines = [orjson.loads(x) for x in out.splitlines()]
            assert sorted(x["custom_id"] for x in lines) == [f"line-{k}" for k in range(4)]
            for x in lines:
                k = x["custom_id"].split("-")[1]
                text = x["response"]["body"]["choices"][0]["message"]["content"]
                assert set(text.split()) <= {"november", "oscar", k, "papa"} and k in text.split()
                assert x["cost"] == pytest.approx(batch_cost(x["usage"]))
            assert batch.result["cost"] == pytest.approx(sum(x["cost"] for x in lines))
    finally:
        await rig.close()
