"""The simulator's batch jobs: what Bedrock, Azure OpenAI and Vertex do with a batch, over real
object storage (moto's S3, Azurite's Blob, gcp-storage-emulator's GCS, or a local directory).

A job runs when its status is first read `delay_s` after it was created: every input line is answered
as the provider's chat API would answer it (the same wires, tokens and usage), in a shuffled order (the
providers promise no order), and written where the provider writes its output. Faults, per upstream
model (`POST /_sim/batch/faults`), or `batch-fault-<name>` in the model name:
- `batch-failed`: the job fails, no output;
- `batch-partial`: every `every`-th line (default 3) is answered with the provider's line error;
- `batch-expired`: the job expires with the first half of its lines answered;
- `batch-slow`: the job stays running for `seconds` (default 3600) unless cancelled.
Checks a real provider makes: Bedrock refuses a job without a role and fails records whose body does
not match `modelInvocationType` (a Converse body in an InvokeModel job and the reverse), and enforces
`bedrock_min_records`; Azure fails a file whose lines name different models, and enforces
`azure_max_enqueued_tokens` across its running jobs (`token_limit_exceeded`).
"""

import asyncio
import os
import random
import time
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from skyrelay.runtime.simulator import wire_bedrock, wire_openai, wire_vertex
from skyrelay.runtime.simulator.engine import STATE_KEY, completion, usage_for, words
from skyrelay.runtime.simulator.engine import SimRequest as _Req

FAULTS = ("batch-failed", "batch-partial", "batch-expired", "batch-slow")
MARKER = "batch-fault-"


@dataclass
class SimBatchJob:
    id: str
    provider: str
    model: str
    created: float
    input: str  # a storage URI, or an Azure file id
    output: str  # a storage URI prefix (Bedrock, Vertex)
    state: str = "running"  # running | completed | failed | expired | cancelled
    fault: dict | None = None
    lines: int = 0
    tokens: int = 0
    message: str = ""
    invocation: str = "Converse"
    output_file: str | None = None
    error_file: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class BatchSettings:
    delay_s: float = 0.0
    endpoints: dict = field(default_factory=dict)  # {"s3_endpoint_url", "gcs_endpoint"}
    bedrock_min_records: int = 0
    azure_max_enqueued_tokens: int = 0
    seed: int = 7


class BatchSim:
    def __init__(self) -> None:
        self.settings = BatchSettings()
        self.jobs: dict[str, SimBatchJob] = {}
        self.files: dict[str, bytes] = {}  # Azure's files API
        self.faults: dict[str, dict] = {}
        self.counts: dict[str, int] = {}

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def fault_for(self, model: str) -> dict | None:
        at = model.find(MARKER)
        if at >= 0:
            return {"fault": "batch-" + model[at + len(MARKER):].split("-")[0]}
        return self.faults.get(model)

    def new(self, provider: str, model: str, input_ref: str, output: str, **extra) -> SimBatchJob:
        job = SimBatchJob(id=os.urandom(6).hex(), provider=provider, model=model, created=time.monotonic(),
                          input=input_ref, output=output, fault=self.fault_for(model), extra=extra)
        self.jobs[job.id] = job
        self.count(f"{provider}:created")
        return job

    def snapshot(self) -> dict:
        return {"counts": dict(self.counts),
                "jobs": [{"id": j.id, "provider": j.provider, "model": j.model, "state": j.state, "lines": j.lines,
                          "message": j.message, "invocation": j.invocation} for j in self.jobs.values()]}

    def reset(self) -> None:
        self.__init__()


BATCH_KEY = web.AppKey("sim_batch", BatchSim)


# ---- running a job ----
def _storage(uri: str, sim: BatchSim):
    from skyrelay.runtime.storage.uris import open_uri

    return open_uri(uri, sim.settings.endpoints)


async def read_input(sim: BatchSim, job: SimBatchJob) -> list[dict]:
    if job.provider == "azure_openai":
        raw = sim.files.get(job.input, b"")
    else:
        storage, key = _storage(job.input, sim)
        raw = await storage.get(key) or b""
    return [orjson.loads(line) for line in raw.splitlines() if line.strip()]


async def write_output(sim: BatchSim, job: SimBatchJob, name: str, lines: list[bytes]) -> None:
    storage, key = _storage(job.output.rstrip("/") + "/" + name, sim)
    await storage.put(key, b"".join(lines))


def answer(app: web.Application, provider: str, model: str, body: dict) -> tuple[dict | None, str | None]:
    """(the provider's chat answer for one record body, or an error message)."""
    state = app[STATE_KEY]
    cfg = state.config
    if provider == "bedrock":
        if "anthropic_version" in body:
            texts = [b.get("text", "") for m in body.get("messages") or () for b in m.get("content") or ()
                     if isinstance(b, dict)]
            req = _Req(provider="bedrock", model=model, stream=False, prompt_tokens=sum(words(t) for t in texts)
                       + words(body.get("system", "")), max_tokens=body.get("max_tokens"),
                       echo=texts[-1] if texts else "")
        else:
            req = wire_bedrock.parse(model, body, False)
    elif provider == "azure_openai":
        req = wire_openai.parse("azure_openai", model, body)
    else:
        req = wire_vertex.parse(model, body, False)
    pieces, n_out, finish = completion(req, cfg)
    usage = usage_for(state, req, cfg, n_out)
    state.count(provider, model, "batch")
    text = "".join(pieces)
    if provider == "bedrock" and "anthropic_version" in body:
        return {"id": "msg_sim", "type": "message", "role": "assistant", "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn" if finish == "stop" else "max_tokens",
                "usage": {"input_tokens": usage.input, "output_tokens": usage.output}}, None
    wire = {"bedrock": wire_bedrock.WIRE, "azure_openai": wire_openai.AZURE, "vertex": wire_vertex.WIRE}[provider]
    return orjson.loads(wire.sync_ok(req, text, usage, finish).body), None


def _failing(job: SimBatchJob, i: int) -> bool:
    f = job.fault or {}
    return f.get("fault") == "batch-partial" and i % int((f.get("params") or {}).get("every", 3)) == 0


async def run(app: web.Application, job: SimBatchJob) -> None:
    """Answers the job's lines (all, or the fault's share) and writes the provider's output."""
    sim = app[BATCH_KEY]
    fault = (job.fault or {}).get("fault")
    records = await read_input(sim, job)
    job.lines = len(records)
    if fault == "batch-failed":
        job.state, job.message = "failed", "simulated job failure"
        return
    if job.provider == "bedrock" and sim.settings.bedrock_min_records and len(records) < sim.settings.bedrock_min_records:
        job.state = "failed"
        job.message = f"the job has {len(records)} records; this model needs at least {sim.settings.bedrock_min_records}"
        return
    if job.provider == "azure_openai" and len({(r.get("body") or {}).get("model") for r in records}) > 1:
        job.state, job.message = "failed", "model mismatch: every line must name the same deployment"
        return
    answered = records if fault != "batch-expired" else records[: len(records) // 2]
    out_lines, err_lines = [], []
    for i, rec in enumerate(answered, 1):
        out_lines.append(line_out(app, job, rec, failing=_failing(job, i)))
    rng = random.Random(sim.settings.seed)
    rng.shuffle(out_lines)
    await emit(app, job, out_lines, err_lines)
    job.state = "expired" if fault == "batch-expired" else "completed"


def line_out(app, job: SimBatchJob, rec: dict, failing: bool) -> tuple[bool, bytes]:
    """(ok, one output line) in the provider's own shape."""
    p = job.provider
    if p == "bedrock":
        body = rec.get("modelInput") or {}
        native = "anthropic_version" in body
        if failing or native != (job.invocation == "InvokeModel"):
            msg = "simulated line failure" if failing else (
                f"the record's modelInput does not match modelInvocationType {job.invocation}")
            return False, orjson.dumps({"recordId": rec.get("recordId"), "modelInput": body,
                                        "error": {"errorCode": 400, "errorMessage": msg}}) + b"\n"
        out, _ = answer(app, p, job.model, body)
        return True, orjson.dumps({"recordId": rec.get("recordId"), "modelInput": body, "modelOutput": out}) + b"\n"
    if p == "azure_openai":
        if failing:
            return False, orjson.dumps({"id": "batch_req_sim", "custom_id": rec.get("custom_id"), "response": {
                "status_code": 400, "request_id": "sim", "body": {"error": {
                    "code": "invalid_request", "message": "simulated line failure"}}}, "error": None}) + b"\n"
        out, _ = answer(app, p, (rec.get("body") or {}).get("model", job.model), rec.get("body") or {})
        return True, orjson.dumps({"id": "batch_req_sim", "custom_id": rec.get("custom_id"), "response": {
            "status_code": 200, "request_id": "sim", "body": out}, "error": None}) + b"\n"
    request = rec.get("request") or {}
    if failing:
        return False, orjson.dumps({"request": request, "status": "simulated line failure"}) + b"\n"
    out, _ = answer(app, p, job.model, request)
    return True, orjson.dumps({"request": request, "response": out, "status": ""}) + b"\n"


async def emit(app, job: SimBatchJob, out_lines: list[tuple[bool, bytes]], _err) -> None:
    sim = app[BATCH_KEY]
    if job.provider == "bedrock":
        name = job.input.rsplit("/", 1)[-1]
        await write_output(sim, job, f"{job.id}/{name}.out", [line for _, line in out_lines])
        ok = sum(1 for good, _ in out_lines if good)
        manifest = {"totalRecordCount": job.lines, "processedRecordCount": len(out_lines),
                    "successRecordCount": ok, "errorRecordCount": len(out_lines) - ok}
        await write_output(sim, job, f"{job.id}/manifest.json.out", [orjson.dumps(manifest)])
    elif job.provider == "vertex":
        folder = f"prediction-model-{time.strftime('%Y-%m-%dT%H:%M:%S')}.{job.id}"
        await write_output(sim, job, f"{folder}/predictions.jsonl", [line for _, line in out_lines])
        job.extra["output_directory"] = job.output.rstrip("/") + "/" + folder
    else:
        good = [line for ok, line in out_lines if ok]
        bad = [line for ok, line in out_lines if not ok]
        if good:
            job.output_file = "file-out-" + job.id
            sim.files[job.output_file] = b"".join(good)
        if bad:
            job.error_file = "file-err-" + job.id
            sim.files[job.error_file] = b"".join(bad)


async def progress(app: web.Application, job: SimBatchJob) -> None:
    """Runs the job once it is due (a status read is what moves it, as a poll would see it)."""
    if job.state != "running":
        return
    f = job.fault or {}
    wait = app[BATCH_KEY].settings.delay_s
    if f.get("fault") == "batch-slow":
        wait = float((f.get("params") or {}).get("seconds", 3600))
    if time.monotonic() - job.created < wait:
        return
    lock = job.extra.setdefault("_lock", asyncio.Lock())
    async with lock:
        if job.state == "running":
            await run(app, job)


def cancel(job: SimBatchJob) -> None:
    if job.state == "running":
        job.state = "cancelled"


# ---- the control API ----
async def control(request: web.Request) -> web.Response:
    sim = request.app[BATCH_KEY]
    if request.method == "POST":
        data = orjson.loads(await request.read() or b"{}")
        for k, v in data.items():
            if hasattr(sim.settings, k):
                setattr(sim.settings, k, v)
    return web.Response(body=orjson.dumps(sim.snapshot()), content_type="application/json")


async def set_fault(request: web.Request) -> web.Response:
    data = orjson.loads(await request.read() or b"{}")
    sim = request.app[BATCH_KEY]
    if data.get("fault") in (None, "none"):
        sim.faults.pop(data["model"], None)
    elif data["fault"] not in FAULTS:
        return web.Response(status=400, text=f"unknown batch fault; known: {', '.join(FAULTS)}")
    else:
        sim.faults[data["model"]] = {"fault": data["fault"], "params": data.get("params") or {}}
    return web.Response(body=orjson.dumps(sim.faults), content_type="application/json")


async def reset(request: web.Request) -> web.Response:
    request.app[BATCH_KEY].reset()
    return web.Response(body=b'{"ok": true}', content_type="application/json")


def add_routes(app: web.Application) -> None:
    from skyrelay.runtime.simulator import batch_wires

    app[BATCH_KEY] = BatchSim()
    app.router.add_get("/_sim/batch", control)
    app.router.add_post("/_sim/batch", control)
    app.router.add_post("/_sim/batch/faults", set_fault)
    app.router.add_post("/_sim/batch/reset", reset)
    batch_wires.add_routes(app)
