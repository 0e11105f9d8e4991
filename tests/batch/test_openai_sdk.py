"""End to end on the local runtime: the official `openai` SDK against `skyrelay serve` and the simulator.
A 200-line batch (files.create, batches.create, retrieve, files.content): every line has a result, at the
batch price, and the batch's total is the sum of its lines; /metrics shows the batch vs on-demand split.
Bad input (malformed JSONL, an unknown model, a line over the tier's max_tokens cap, a file over the size
limit, a batch over an unknown file) gets a 4xx naming the problem, and nothing is stored."""

import json
import sqlite3
import time
import urllib.request

import openai
import pytest
from openai import OpenAI

from tests.batch.kit import sim_batch
from tests.servekit import FREE, PRO, Serve, example_config

METRICS_KEY = "sk-demo-metrics"  # examples/local.yaml's demo metrics token
BEDROCK_BATCH = {"min_records": 1, "max_wait_s": 0, "role_arn": "arn:aws:iam::123456789012:role/skyrelay-batch"}


def config(tmp_path, sim_url: str, **batch) -> dict:
    cfg = example_config(tmp_path, sim_url)
    for d in cfg["deployments"]:
        if d["provider"] == "bedrock":
            d["batch"] = BEDROCK_BATCH
    cfg["jobs"]["worker"]["in_process"] = True  # one process: /metrics sees the batcher
    cfg["jobs"]["batch"].update({"tick_s": 0.2, **batch})
    return cfg


def request_line(i: int, **body) -> dict:
    return {"custom_id": f"req-{i:03d}", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "fast", "messages": [{"role": "user", "content": f"line {i} asks this"}],
                     "max_tokens": 4 + i % 5, **body}}


def jsonl(lines) -> bytes:
    return b"".join(json.dumps(x).encode() + b"\n" for x in lines)


def test_a_200_line_batch_runs_through_the_openai_sdk_at_the_batch_price(tmp_path, batch_sim):
    cfg = config(tmp_path, batch_sim.base_url)
    price = next(d["price"] for d in cfg["deployments"] if d["name"] == "fast-bedrock")
    with Serve(tmp_path, cfg) as srv:
        client = OpenAI(base_url=srv.url + "/v1", api_key=PRO, max_retries=0)
        uploaded = client.files.create(file=("requests.jsonl", jsonl(request_line(i) for i in range(200))),
                                       purpose="batch")
        assert uploaded.purpose == "batch" and uploaded.bytes > 0
        batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                      completion_window="24h", metadata={"run": "e2e"})
        assert batch.status == "in_progress" and batch.request_counts.total == 200
        deadline = time.monotonic() + 120
        while batch.status not in ("completed", "failed", "cancelled", "expired"):
            assert time.monotonic() < deadline, batch
            time.sleep(0.3)
            batch = client.batches.retrieve(batch.id)
        assert batch.status == "completed" and batch.request_counts.completed == 200, batch
        assert batch.request_counts.failed == 0 and batch.error_file_id is None
        lines = [json.loads(x) for x in client.files.content(batch.output_file_id).read().splitlines()]
        assert sorted(x["custom_id"] for x in lines) == [f"req-{i:03d}" for i in range(200)]
        for x in lines:
            i = int(x["custom_id"].split("-")[1])
            body = x["response"]["body"]
            assert x["response"]["status_code"] == 200 and x["mode"] == "batch"
            assert body["choices"][0]["message"]["content"].split()[0] in ("line", str(i), "asks", "this")
            assert body["usage"]["completion_tokens"] == 4 + i % 5
            u = x["usage"]
            assert x["cost"] == pytest.approx((u["input_tokens"] * price["input"] / 2
                                               + u["output_tokens"] * price["output"] / 2) / 1000)
        assert batch.model_extra["cost"] == pytest.approx(sum(x["cost"] for x in lines))
        assert batch.usage.output_tokens == sum(x["usage"]["output_tokens"] for x in lines)
        assert sim_batch(batch_sim.base_url)["counts"] == {"bedrock:created": 1}  # one provider job
        listed = client.batches.list(limit=5)
        assert [b.id for b in listed.data] == [batch.id]
        req = urllib.request.Request(srv.url + "/metrics", headers={"authorization": f"Bearer {METRICS_KEY}"})
        metrics = urllib.request.urlopen(req, timeout=10).read().decode()
        assert 'skyrelay_batch_lines_total{deployment="fast-bedrock",outcome="completed",served="batch"} 200.0' \
            in metrics
        assert 'skyrelay_batch_provider_jobs_total{deployment="fast-bedrock"} 1.0' in metrics
        saved = [ln for ln in metrics.splitlines() if ln.startswith('skyrelay_batch_saved_total{deployment="fast-bedrock"}')]
        assert saved and float(saved[0].split()[-1]) == pytest.approx(batch.model_extra["cost"])  # 50% off


def _stored(tmp_path) -> tuple[int, list[str]]:
    """(batch records and file records in the job store, objects in the storage directory)."""
    with sqlite3.connect(tmp_path / "jobs.db") as db:
        n = db.execute("SELECT count(*) FROM jobs WHERE tenant LIKE '%#files' OR tenant LIKE '%#batches'").fetchone()[0]
    root = tmp_path / "objects"
    return n, sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_bad_input_is_a_4xx_naming_the_problem_and_nothing_is_stored(tmp_path, batch_sim):
    with Serve(tmp_path, config(tmp_path, batch_sim.base_url, max_file_bytes=20_000)) as srv:
        pro = OpenAI(base_url=srv.url + "/v1", api_key=PRO, max_retries=0)
        free = OpenAI(base_url=srv.url + "/v1", api_key=FREE, max_retries=0)
        cases = [
            (pro, jsonl([request_line(0)]) + b'{"custom_id": "x", "method": "POST"\n', openai.BadRequestError,
             "invalid_json", "line 2: not valid JSON"),
            (pro, jsonl([request_line(0), request_line(1, model="no-such-model")]), openai.NotFoundError,
             "model_not_found", "line 2: model 'no-such-model' does not exist"),
            (free, jsonl([request_line(0, max_tokens=2000)]), openai.BadRequestError, "max_tokens_over_cap",
             "line 1: max_tokens 2000 is over the free tier cap of 1024"),
            (free, jsonl([request_line(0, model="quality")]), openai.PermissionDeniedError, "model_not_allowed",
             "line 1: the free tier may not use model 'quality'"),
            (pro, jsonl(request_line(i) for i in range(400)), openai.APIStatusError, "payload_too_large",
             "over the 20000 byte limit"),
            (pro, jsonl([request_line(0, stream=True)]), openai.BadRequestError, "validation_error",
             "line 1: body.stream"),
        ]
        for client, content, error, code, message in cases:
            with pytest.raises(error) as got:
                client.files.create(file=("bad.jsonl", content), purpose="batch")
            assert got.value.body["code"] == code and message in got.value.body["message"], got.value.body
            assert 400 <= got.value.status_code < 500
        assert _stored(tmp_path) == (0, [])
        with pytest.raises(openai.NotFoundError) as got:
            pro.batches.create(input_file_id="file-nope", endpoint="/v1/chat/completions", completion_window="24h")
        assert got.value.body["code"] == "not_found" and "file-nope" in got.value.body["message"]
        good = pro.files.create(file=("ok.jsonl", jsonl([request_line(0)])), purpose="batch")
        with pytest.raises(openai.BadRequestError) as got:
            pro.batches.create(input_file_id=good.id, endpoint="/v1/embeddings", completion_window="24h")
        assert "endpoint" in got.value.body["message"]
        with pytest.raises(openai.NotFoundError):  # another tenant's file is not there
            free.files.retrieve(good.id)
        records, objects = _stored(tmp_path)
        assert records == 1 and objects == [f"files/{good.id}.jsonl"]  # only the good file: no batch, no chunk


def test_a_mode_batch_job_completes_through_the_worker_process_batcher(tmp_path, batch_sim):
    """`skyrelay serve` with its job worker process (the default): the batcher runs beside the worker that
    sweeps, and a `mode: batch` job submitted to the API completes at the batch price."""
    from tests.servekit import http

    cfg = config(tmp_path, batch_sim.base_url)
    cfg["jobs"]["worker"]["in_process"] = False
    price = next(d["price"] for d in cfg["deployments"] if d["name"] == "fast-bedrock")
    with Serve(tmp_path, cfg) as srv:
        auth = {"authorization": f"Bearer {PRO}"}
        status, _, job = http("POST", srv.url + "/v1/jobs", {"model": "fast", "prompt": "wait for the batch",
                                                            "mode": "batch", "max_tokens": 6}, auth)
        assert status == 202, job
        deadline = time.monotonic() + 60
        while True:
            _, _, got = http("GET", f"{srv.url}/v1/jobs/{job['id']}", headers=auth)
            if got["status"] in ("COMPLETE", "FAILED") or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert got["status"] == "COMPLETE" and got["mode"] == "batch" and got["batch"]["state"] == "completed", got
        u = got["usage"]
        assert u["output_tokens"] == 6
        assert got["cost"] == pytest.approx((u["input_tokens"] * price["input"] + u["output_tokens"] * price["output"])
                                            / 2 / 1000)
        assert sim_batch(batch_sim.base_url)["counts"] == {"bedrock:created": 1}
