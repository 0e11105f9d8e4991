"""GET /openapi.json: an OpenAPI 3.1 document of the HTTP surface, built from pydantic models once.

The models here describe the wire format for docs and fuzzing only; the hot path validates by hand
(runtime/api/chat.py) and both must agree.
"""

from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema
from starlette.routing import Route

from skyrelay.runtime.api.errors import Endpoint, send_json


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(title="ChatCompletionRequest")
    model: str = Field(min_length=1, description="a logical model name from GET /v1/models")
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1, description="capped by the caller's tier")
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stop: str | list[str] | None = Field(default=None, max_length=4)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    user: str | None = None


class ResponseMessage(BaseModel):
    role: Literal["assistant"]
    content: str


class Choice(BaseModel):
    index: int
    message: ResponseMessage
    finish_reason: str
    logprobs: None = None


class PromptTokensDetails(BaseModel):
    cached_tokens: int


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    system_fingerprint: str | None = None
    choices: list[Choice]
    usage: CompletionUsage


class ModelInfo(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelInfo]


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable code, see docs/router.md")
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str


MODELS = [ChatCompletionRequest, ChatCompletion, ModelList, ErrorBody, Health]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _errors(*codes: int) -> dict:
    return {str(c): _json("ErrorBody", "error") for c in codes}


def build_document() -> dict:
    _, defs = models_json_schema([(m, "validation") for m in MODELS], ref_template="#/components/schemas/{model}")
    schemas = defs["$defs"]
    ratelimit = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}}
    overhead = {"x-skyrelay-overhead-ms": {"schema": {"type": "string"}, "description": "router overhead, ms"}}
    chat_ok = _json("ChatCompletion", "a completion (or an SSE stream when `stream` is true)")
    chat_ok["content"]["text/event-stream"] = {"schema": {"type": "string"}}
    chat_ok["headers"] = overhead
    too_many = _json("ErrorBody", "over a tier limit")
    too_many["headers"] = ratelimit
    return {
        "openapi": "3.1.0",
        "info": {"title": "skyrelay router", "version": "0.1.0",
                 "description": "OpenAI-compatible chat completions over Bedrock, Azure OpenAI, Vertex and "
                                "OpenAI-compatible deployments."},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/chat/completions": {"post": {
                "operationId": "createChatCompletion",
                "parameters": [
                    {"name": "X-Model-Preference", "in": "header", "required": False,
                     "schema": {"type": "string", "enum": ["fast", "quality", "cheap"]}},
                    {"name": "x-skyrelay-cache", "in": "header", "required": False,
                     "schema": {"type": "string", "enum": ["on", "off"]}},
                ],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _ref("ChatCompletionRequest")}}},
                "responses": {"200": chat_ok, "429": too_many,
                              **_errors(400, 401, 403, 404, 405, 413, 502, 503, 504)},
            }},
            "/v1/models": {"get": {
                "operationId": "listModels",
                "responses": {"200": _json("ModelList", "models the caller's tier may use"), **_errors(401)},
            }},
            "/healthz": {"get": {"operationId": "health", "security": [],
                                 "responses": {"200": _json("Health", "alive")}}},
            "/metrics": {"get": {"operationId": "metrics", "security": [], "responses": {"200": {
                "description": "Prometheus text exposition",
                "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        },
    }


def routes(ctx) -> list[Route]:
    body = orjson.dumps(build_document())

    async def openapi_app(scope, receive, send):
        await send_json(send, 200, body)

    async def health_app(scope, receive, send):
        await send_json(send, 200, b'{"status":"ok"}')

    return [Route("/openapi.json", Endpoint(openapi_app), methods=["GET"]),
            Route("/healthz", Endpoint(health_app), methods=["GET"])]
