"""The three batch APIs' wire formats, on the simulator's port (batch_jobs.py runs the jobs):

- Bedrock:  POST /model-invocation-job, GET /model-invocation-job/{arn}, POST /model-invocation-job/{arn}/stop
- Azure:    POST /openai/files (multipart), GET /openai/files/{id}/content, POST /openai/batches,
            GET /openai/batches/{id}, POST /openai/batches/{id}/cancel  (all with api-version)
- Vertex:   POST /v1/projects/{p}/locations/{l}/batchPredictionJobs, GET .../batchPredictionJobs/{id},
            POST .../batchPredictionJobs/{id}:cancel
"""

import time
from urllib.parse import unquote

import orjson
from aiohttp import web

from skyrelay.runtime.simulator.batch_jobs import BATCH_KEY, cancel, progress

BEDROCK_STATES = {"running": "InProgress", "completed": "Completed", "failed": "Failed", "expired": "Expired",
                  "cancelled": "Stopped"}
AZURE_STATES = {"running": "in_progress", "completed": "completed", "failed": "failed", "expired": "expired",
                "cancelled": "cancelled"}
VERTEX_STATES = {"running": "JOB_STATE_RUNNING", "completed": "JOB_STATE_SUCCEEDED", "failed": "JOB_STATE_FAILED",
                 "expired": "JOB_STATE_EXPIRED", "cancelled": "JOB_STATE_CANCELLED"}


def _json(doc, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(doc), status=status, content_type="application/json")


async def _body(request: web.Request) -> dict:
    try:
        doc = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        doc = None
    if not isinstance(doc, dict):
        raise web.HTTPBadRequest(text='{"message": "malformed body"}', content_type="application/json")
    return doc


def _job(request: web.Request, key: str, provider: str):
    job = request.app[BATCH_KEY].jobs.get(unquote(request.match_info[key]).rsplit("/", 1)[-1])
    if job is None or job.provider != provider:
        raise web.HTTPNotFound(text='{"message": "no such job"}', content_type="application/json")
    return job


# ---- Bedrock ----
async def bedrock_create(request: web.Request) -> web.Response:
    sim = request.app[BATCH_KEY]
    doc = await _body(request)
    token = doc.get("clientRequestToken")
    for job in sim.jobs.values():  # the idempotency token returns the job it made
        if token and job.provider == "bedrock" and job.extra.get("token") == token:
            sim.count("bedrock:replayed")
            return _json({"jobArn": job.extra["arn"]})
    if not doc.get("roleArn"):
        return _json({"message": "roleArn is required"}, 400)
    kind = doc.get("modelInvocationType", "InvokeModel")
    job = sim.new("bedrock", doc["modelId"], doc["inputDataConfig"]["s3InputDataConfig"]["s3Uri"],
                  doc["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"], token=token, name=doc.get("jobName"))
    job.invocation = kind
    job.extra["arn"] = f"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/{job.id}"
    return _json({"jobArn": job.extra["arn"]})


async def bedrock_get(request: web.Request) -> web.Response:
    job = _job(request, "arn", "bedrock")
    await progress(request.app, job)
    return _json({"jobArn": job.extra["arn"], "jobName": job.extra.get("name"), "modelId": job.model,
                  "status": BEDROCK_STATES[job.state], "message": job.message,
                  "modelInvocationType": job.invocation})


async def bedrock_stop(request: web.Request) -> web.Response:
    job = _job(request, "arn", "bedrock")
    cancel(job)
    request.app[BATCH_KEY].count("bedrock:cancelled")
    return _json({})


# ---- Azure OpenAI ----
def _azure(request: web.Request) -> None:
    if "api-version" not in request.query:
        raise web.HTTPNotFound(text='{"error": {"code": "404", "message": "Resource not found"}}',
                               content_type="application/json")


async def azure_upload(request: web.Request) -> web.Response:
    _azure(request)
    sim = request.app[BATCH_KEY]
    form = await request.post()
    if form.get("purpose") != "batch" or "file" not in form:
        return _json({"error": {"code": "invalidPayload", "message": "purpose=batch and file are required"}}, 400)
    file_id = f"file-{len(sim.files) + 1:06d}{int(time.time())}"
    sim.files[file_id] = form["file"].file.read()
    sim.count("azure_openai:uploaded")
    return _json({"id": file_id, "object": "file", "purpose": "batch", "status": "processed",
                  "bytes": len(sim.files[file_id])})


async def azure_content(request: web.Request) -> web.Response:
    _azure(request)
    content = request.app[BATCH_KEY].files.get(request.match_info["file_id"])
    if content is None:
        return _json({"error": {"code": "404", "message": "no such file"}}, 404)
    return web.Response(body=content, content_type="application/octet-stream")


def _azure_doc(job) -> dict:
    return {"id": job.id, "object": "batch", "endpoint": "/chat/completions", "status": AZURE_STATES[job.state],
            "input_file_id": job.input, "output_file_id": job.output_file, "error_file_id": job.error_file,
            "errors": {"data": [{"code": "simulated", "message": job.message}]} if job.message else None,
            "metadata": job.extra.get("metadata")}


async def azure_create(request: web.Request) -> web.Response:
    _azure(request)
    sim = request.app[BATCH_KEY]
    doc = await _body(request)
    if doc.get("completion_window") != "24h" or doc.get("endpoint") != "/chat/completions":
        return _json({"error": {"code": "invalidPayload", "message": "completion_window 24h, endpoint /chat/completions"}}, 400)
    content = sim.files.get(doc.get("input_file_id"))
    if content is None:
        return _json({"error": {"code": "invalidPayload", "message": "unknown input_file_id"}}, 400)
    lines = [orjson.loads(x) for x in content.splitlines() if x.strip()]
    model = (lines[0].get("body") or {}).get("model", "") if lines else ""
    job = sim.new("azure_openai", model, doc["input_file_id"], "", metadata=doc.get("metadata"))
    job.tokens = sum(len(orjson.dumps(x)) // 4 + ((x.get("body") or {}).get("max_tokens") or 0) for x in lines)
    quota = sim.settings.azure_max_enqueued_tokens
    if quota:
        queued = sum(j.tokens for j in sim.jobs.values() if j.provider == "azure_openai" and j.state == "running")
        sim.counts["azure_openai:max_enqueued"] = max(sim.counts.get("azure_openai:max_enqueued", 0), queued)
        if queued > quota:
            job.state, job.message = "failed", "token_limit_exceeded: the enqueued tokens are over the deployment's quota"
    return _json(_azure_doc(job))


async def azure_list(request: web.Request) -> web.Response:
    _azure(request)
    jobs = [j for j in request.app[BATCH_KEY].jobs.values() if j.provider == "azure_openai"]
    return _json({"object": "list", "data": [_azure_doc(j) for j in reversed(jobs)], "has_more": False})


async def azure_get(request: web.Request) -> web.Response:
    _azure(request)
    job = _job(request, "batch_id", "azure_openai")
    await progress(request.app, job)
    return _json(_azure_doc(job))


async def azure_cancel(request: web.Request) -> web.Response:
    _azure(request)
    job = _job(request, "batch_id", "azure_openai")
    cancel(job)
    request.app[BATCH_KEY].count("azure_openai:cancelled")
    return _json(_azure_doc(job))


# ---- Vertex ----
def _vertex_doc(request, job) -> dict:
    p, loc = request.match_info["project"], request.match_info["location"]
    doc = {"name": f"projects/{p}/locations/{loc}/batchPredictionJobs/{job.id}", "displayName": job.extra.get("name"),
           "model": f"publishers/google/models/{job.model}", "state": VERTEX_STATES[job.state]}
    if job.message:
        doc["error"] = {"code": 13, "message": job.message}
    if job.extra.get("output_directory"):
        doc["outputInfo"] = {"gcsOutputDirectory": job.extra["output_directory"]}
    return doc


async def vertex_create(request: web.Request) -> web.Response:
    doc = await _body(request)
    model = doc.get("model", "").rsplit("/", 1)[-1]
    job = request.app[BATCH_KEY].new("vertex", model, doc["inputConfig"]["gcsSource"]["uris"][0],
                                     doc["outputConfig"]["gcsDestination"]["outputUriPrefix"], name=doc.get("displayName"))
    return _json(_vertex_doc(request, job))


async def vertex_list(request: web.Request) -> web.Response:
    wanted = request.query.get("filter", "").removeprefix("display_name=").strip('"')
    jobs = [j for j in request.app[BATCH_KEY].jobs.values()
            if j.provider == "vertex" and (not wanted or j.extra.get("name") == wanted)]
    return _json({"batchPredictionJobs": [_vertex_doc(request, j) for j in jobs]})


async def vertex_get(request: web.Request) -> web.Response:
    job = _job(request, "job_id", "vertex")
    await progress(request.app, job)
    return _json(_vertex_doc(request, job))


async def vertex_cancel(request: web.Request) -> web.Response:
    job = _job(request, "job_id", "vertex")
    cancel(job)
    request.app[BATCH_KEY].count("vertex:cancelled")
    return _json({})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/model-invocation-job", bedrock_create)
    app.router.add_get("/model-invocation-job/{arn}", bedrock_get)
    app.router.add_post("/model-invocation-job/{arn}/stop", bedrock_stop)
    app.router.add_post("/openai/files", azure_upload)
    app.router.add_get("/openai/files/{file_id}/content", azure_content)
    app.router.add_post("/openai/batches", azure_create)
    app.router.add_get("/openai/batches", azure_list)
    app.router.add_get("/openai/batches/{batch_id}", azure_get)
    app.router.add_post("/openai/batches/{batch_id}/cancel", azure_cancel)
    jobs = "/v1/projects/{project}/locations/{location}/batchPredictionJobs"
    app.router.add_post(jobs, vertex_create)
    app.router.add_get(jobs, vertex_list)
    app.router.add_get(jobs + "/{job_id:[^/:]+}", vertex_get)
    app.router.add_post(jobs + "/{job_id:[^/:]+}:cancel", vertex_cancel)
