"""GET /openapi.json: an OpenAPI 3.1 document of every route (chat, models, jobs, files, batches, health, metrics),
built once from the wire models in runtime/api/schemas.py.
"""

import orjson
from pydantic.json_schema import models_json_schema
from starlette.routing import Route

from skyrelay.runtime.api.errors import Endpoint, send_json
from skyrelay.runtime.api.schemas import MODELS


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _errors(*codes: int) -> dict:
    return {str(c): _json("ErrorBody", "error") for c in codes}


def _header(description: str, type_: str = "string") -> dict:
    return {"schema": {"type": type_}, "description": description}


def _param(name: str, where: str, schema: dict, description: str = "", required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description}


def build_document(models: list[str] | None = None) -> dict:
    """`models`: the logical model names this server routes (the config's); listed as the request's enum."""
    _, defs = models_json_schema([(m, "validation") for m in MODELS], ref_template="#/components/schemas/{model}")
    schemas = defs["$defs"]
    for name in ("ChatCompletionRequest", "JobRequest", "EmbeddingsRequest"):
        if models:
            schemas[name]["properties"]["model"]["enum"] = sorted(models)
    schemas["JobRequest"]["anyOf"] = [{"required": ["prompt"]}, {"required": ["messages"]}]
    overhead = {"x-skyrelay-overhead-ms": _header("router overhead, ms")}
    chat_ok = _json("ChatCompletion", "a completion (or an SSE stream when `stream` is true)")
    chat_ok["content"]["text/event-stream"] = {"schema": {  # one SSE event
        "type": "object", "required": ["data"],
        "properties": {"event": {"type": "string", "enum": ["message", "error"],
                                 "description": "`error` ends a stream that failed after its first chunk"},
                       "data": {"type": "string", "description": "a chat.completion.chunk, an error, or [DONE]"}}}}
    chat_ok["headers"] = overhead
    too_many = {**_json("ErrorBody", "over a tier limit"), "headers": {"Retry-After": _header("seconds", "integer")}}
    busy = {**_json("ErrorBody", "overloaded"), "headers": {"Retry-After": _header("seconds", "integer")}}
    preference = _param("X-Model-Preference", "header", {"type": "string", "enum": ["fast", "quality", "cheap"]})
    job_id = _param("job_id", "path", {"type": "string"}, "the id from POST /v1/jobs", required=True)
    accepted = {**_json("JobAccepted", "stored and queued"), "headers": {
        "Location": {**_header("/v1/jobs/{id}"), "required": True},
        "Idempotent-Replayed": _header("`true` when an Idempotency-Key named an existing job")},
        "links": {op: {"operationId": op, "parameters": {"job_id": "$response.body#/id"}}
                  for op in ("getJob", "cancelJob")}}
    file_id = _param("file_id", "path", {"type": "string"}, "the id from POST /v1/files", required=True)
    batch_id = _param("batch_id", "path", {"type": "string"}, "the id from POST /v1/batches", required=True)
    upload = {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file", "purpose"],
        "properties": {"file": {"type": "string", "format": "binary",
                                "description": "JSONL: one /v1/chat/completions request per line"},
                       "purpose": {"type": "string", "enum": ["batch"]}}}}}}
    content_ok = {"description": "the file's bytes",
                  "content": {"application/jsonl": {"schema": {"type": "string", "format": "binary"}}}}
    metrics_ok = {"description": "Prometheus text exposition",
                  "content": {"text/plain": {"schema": {"type": "string"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "skyrelay router", "version": "0.1.0",
                 "description": "OpenAI-compatible chat completions over Bedrock, Azure OpenAI, Vertex and "
                                "OpenAI-compatible deployments, and async jobs (submit, poll, webhook)."},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "a tenant API key"},
                                "metrics": {"type": "http", "scheme": "bearer",
                                            "description": "a token listed in api.metrics_keys"}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/chat/completions": {"post": {
                "operationId": "createChatCompletion",
                "parameters": [preference, _param("x-skyrelay-cache", "header", {"type": "string", "enum": ["on", "off"]})],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _ref("ChatCompletionRequest")}}},
                "responses": {"200": chat_ok, "429": too_many, "503": busy,
                              **_errors(400, 401, 403, 404, 405, 413, 502, 504)},
            }},
            "/v1/embeddings": {"post": {
                "operationId": "createEmbeddings",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _ref("EmbeddingsRequest")}}},
                "responses": {"200": {**_json("EmbeddingsResponse", "one vector per input"), "headers": overhead},
                              "429": too_many, "503": busy, **_errors(400, 401, 403, 404, 405, 413, 502, 504)},
            }},
            "/v1/models": {"get": {
                "operationId": "listModels",
                "responses": {"200": _json("ModelList", "models the caller's tier may use"), **_errors(401)},
            }},
            "/v1/jobs": {
                "post": {
                    "operationId": "submitJob",
                    "parameters": [preference, _param("Idempotency-Key", "header", {"type": "string", "minLength": 1,
                                                                                 "maxLength": 255})],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("JobRequest")}}},
                    "responses": {"202": accepted, "429": too_many, "503": busy,
                                  **_errors(400, 401, 403, 404, 409, 413)},
                },
                "get": {
                    "operationId": "listJobs",
                    "parameters": [
                        _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20}),
                        _param("cursor", "query", {"type": "string"}, "next_cursor of the previous page"),
                        _param("status", "query", {"type": "string",
                                                   "enum": ["PENDING", "PROCESSING", "COMPLETE", "FAILED"]})],
                    "responses": {"200": _json("JobList", "the caller's jobs, newest first"),
                                  **_errors(400, 401, 404)},
                },
            },
            "/v1/jobs/{job_id}": {
                "get": {"operationId": "getJob", "parameters": [job_id],
                        "responses": {"200": _json("Job", "the job"), **_errors(401, 404)}},
                "delete": {"operationId": "cancelJob", "parameters": [job_id],
                           "responses": {"200": _json("Job", "the cancelled job (FAILED, `cancelled`)"),
                                         **_errors(401, 404, 409)}},
            },
            "/v1/files": {"post": {
                "operationId": "createFile", "requestBody": upload,
                "responses": {"200": {**_json("FileObject", "stored: every line passed"),
                                      "links": {op: {"operationId": op, "parameters": {"file_id": "$response.body#/id"}}
                                                for op in ("getFile", "getFileContent")}},
                              **_errors(400, 401, 403, 404, 413)}}},
            "/v1/files/{file_id}": {"get": {"operationId": "getFile", "parameters": [file_id], "responses": {
                "200": _json("FileObject", "the file"), **_errors(401, 404)}}},
            "/v1/files/{file_id}/content": {"get": {"operationId": "getFileContent", "parameters": [file_id],
                                                    "responses": {"200": content_ok, **_errors(401, 404)}}},
            "/v1/batches": {
                "post": {"operationId": "createBatch", "requestBody": {"required": True, "content": {
                    "application/json": {"schema": _ref("BatchCreateRequest")}}},
                    "responses": {"200": {**_json("Batch", "accepted: in_progress"),
                                          "links": {op: {"operationId": op, "parameters": {"batch_id": "$response.body#/id"}}
                                                    for op in ("getBatch", "cancelBatch")}},
                                  "429": too_many, **_errors(400, 401, 403, 404, 413)}},
                "get": {"operationId": "listBatches", "parameters": [
                    _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
                    _param("after", "query", {"type": "string"}, "the last id of the previous page")],
                    "responses": {"200": _json("BatchList", "the caller's batches, newest first"),
                                  **_errors(400, 401, 404)}},
            },
            "/v1/batches/{batch_id}": {"get": {"operationId": "getBatch", "parameters": [batch_id], "responses": {
                "200": _json("Batch", "the batch"), **_errors(401, 404)}}},
            "/v1/batches/{batch_id}/cancel": {"post": {"operationId": "cancelBatch", "parameters": [batch_id],
                                                       "responses": {"200": _json("Batch", "cancelling (or cancelled)"),
                                                                     **_errors(401, 404, 409)}}},
            "/healthz": {"get": {"operationId": "health", "security": [], "responses": {
                "200": _json("Health", "serving"), "503": _json("Health", "no job worker is alive")}}},
            "/metrics": {"get": {"operationId": "metrics", "security": [{"metrics": []}],
                                 "responses": {"200": metrics_ok, **_errors(401)}}},
            "/openapi.json": {"get": {"operationId": "openapi", "security": [], "responses": {
                "200": {"description": "this document", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        },
    }


def routes(ctx) -> list[Route]:
    body = orjson.dumps(build_document(list(ctx.config.models)))

    async def openapi_app(scope, receive, send):
        await send_json(send, 200, body)

    return [Route("/openapi.json", Endpoint(openapi_app), methods=["GET"])]
