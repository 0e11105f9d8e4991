"""The wire format of the HTTP surface as pydantic models: for the OpenAPI document (and the fuzzing
that runs over it) only. The hot path validates by hand (runtime/parse.py, runtime/jobs/service.py);
the two must agree, and tests/api/test_fuzz.py checks every served response against these.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class FunctionCall(BaseModel):
    name: str
    arguments: str = Field(description="the arguments as JSON text")


class ToolCall(BaseModel):
    id: str
    type: Literal["function"]
    function: FunctionCall


class ChatMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None
    tool_calls: list[ToolCall] | None = Field(default=None, description="assistant: the calls it made")
    tool_call_id: str | None = Field(default=None, description="tool: the id of the call this answers")


class FunctionDefinition(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict | None = Field(default=None, description="a JSON Schema object (Vertex takes a subset)")
    strict: bool | None = None


class Tool(BaseModel):
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(BaseModel):
    name: str


class NamedToolChoice(BaseModel):
    type: Literal["function"]
    function: NamedFunction


class JsonSchemaSpec(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    schema_: dict | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormat(BaseModel):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaSpec | None = Field(default=None, description="with type json_schema")


class StreamOptions(BaseModel):
    include_usage: bool = False


class _Sampling(BaseModel):
    """The chat parameters the router honours (runtime/parse.py CHAT_PARAMETERS); any other is
    refused with 400 `unsupported_parameter`."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, description="a logical model name from GET /v1/models")
    max_tokens: int | None = Field(default=None, ge=1, description="capped by the caller's tier; when absent, "
                                                                   "min(tier cap, api.default_max_tokens) is sent")
    max_completion_tokens: int | None = Field(default=None, ge=1, description="same as max_tokens")
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stop: str | list[str] | None = Field(default=None, max_length=4)
    user: str | None = None


class ChatCompletionRequest(_Sampling):
    """Chat also takes the tools and structured-output surface (docs/router.md: the parameters x providers
    table); jobs and batch lines do not."""

    model_config = ConfigDict(title="ChatCompletionRequest", extra="forbid")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    tools: list[Tool] | None = Field(default=None, min_length=1)
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    n: int | None = Field(default=None, ge=1, le=128, description="values above 1 are refused")
    seed: int | None = None
    logprobs: bool | None = Field(default=None, description="true is refused")
    top_logprobs: int | None = Field(default=None, ge=0, le=20, description="above 0 is refused")


class JobRequest(_Sampling):
    model_config = ConfigDict(title="JobRequest", extra="forbid")
    prompt: str | None = Field(default=None, pattern=r"\S", description="a user message; give prompt or messages")
    messages: list[ChatMessage] | None = Field(default=None, min_length=1)
    callback_url: str | None = Field(default=None, max_length=2048, description="http(s); SSRF-checked")
    priority: Literal["interactive", "batch"] | None = None
    metadata: dict | None = Field(default=None, description="echoed on the job; at most jobs.max_metadata_bytes")
    preference: Literal["fast", "quality", "cheap"] | None = None
    mode: Literal["on_demand", "batch"] | None = Field(
        default=None, description="batch: the job may wait for a provider batch job, at the batch price (docs/batch.md)")


JobStatus = Literal["PENDING", "PROCESSING", "COMPLETE", "FAILED"]


class JobAccepted(BaseModel):
    id: str
    status: JobStatus
    created_at: float


class JobResult(BaseModel):
    text: str
    finish_reason: str
    provider_model: str


class JobUsage(BaseModel):
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    output_tokens: int
    total_tokens: int


class WebhookAttempt(BaseModel):
    at: float
    status: int | None
    error: str | None
    ms: float
    ok: bool
    blocked: bool | None = None


class JobWebhook(BaseModel):
    id: str | None
    state: str | None
    attempts: list[WebhookAttempt]


class JobBatch(BaseModel):
    state: str = Field(description="waiting, completed, failed, on_demand (fell back) or cancelled")
    deployment: str | None = None
    batch_id: str | None = None
    custom_id: str | None = None


class Job(BaseModel):
    id: str
    object: Literal["job"]
    status: JobStatus
    model: str
    priority: Literal["interactive", "batch"]
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None
    expires_at: float
    attempts: int
    preference: str | None = None
    metadata: dict | None = None
    result: JobResult | None = Field(default=None, description="COMPLETE jobs; not in the list view")
    error: "ErrorDetail | None" = None
    usage: JobUsage | None = None
    cost: float | None = None
    served_by: str | None = None
    webhook: JobWebhook | None = Field(default=None, description="jobs with a callback_url; not in the list view")
    mode: Literal["batch"] | None = None
    batch: JobBatch | None = None


class JobList(BaseModel):
    object: Literal["list"]
    data: list[Job]
    next_cursor: str | None
    has_more: bool


class ResponseMessage(BaseModel):
    role: Literal["assistant"]
    content: str | None = Field(description="null when the model only called tools")
    tool_calls: list[ToolCall] | None = None


class Choice(BaseModel):
    index: int
    message: ResponseMessage
    finish_reason: str
    logprobs: dict | None = Field(default=None, description="{content: [...]} when logprobs was asked (Azure, "
                                                            "OpenAI-compatible deployments)")


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


class EmbeddingsRequest(BaseModel):
    model_config = ConfigDict(title="EmbeddingsRequest", extra="forbid")
    model: str = Field(min_length=1, description="a logical model whose deployments declare `embeddings`")
    input: str | list[str] = Field(description="a string, or up to 2,048 strings (not empty)")
    dimensions: int | None = Field(default=None, ge=1, le=8192)
    encoding_format: Literal["float", "base64"] | None = None
    user: str | None = None


class Embedding(BaseModel):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str = Field(description="floats, or base64 of little-endian float32")


class EmbeddingsUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingsResponse(BaseModel):
    object: Literal["list"]
    model: str
    data: list[Embedding]
    usage: EmbeddingsUsage


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


class WorkerHealth(BaseModel):
    expected: int = Field(description="job worker processes (or tasks) this server runs")
    alive: int
    restarts: int = Field(description="worker restarts since start")


class Health(BaseModel):
    status: Literal["ok", "degraded", "unavailable"] = Field(
        description="ok; degraded: some job workers are down; unavailable (503): none is alive")
    workers: WorkerHealth | None = None


class FileObject(BaseModel):
    """OpenAI's file object (a batch input, or a batch's output / error file)."""

    id: str
    object: Literal["file"]
    bytes: int
    created_at: int
    filename: str
    purpose: Literal["batch", "batch_output"]
    status: Literal["processed"]
    expires_at: int | None = None
    status_details: str | None = None


class BatchCreateRequest(BaseModel):
    model_config = ConfigDict(title="BatchCreateRequest", extra="forbid")
    input_file_id: str = Field(min_length=1, description="a file uploaded with purpose batch")
    endpoint: Literal["/v1/chat/completions"]
    completion_window: Literal["24h"]
    metadata: dict[str, str] | None = Field(default=None, max_length=16)


class RequestCounts(BaseModel):
    total: int
    completed: int
    failed: int


class BatchUsage(BaseModel):
    input_tokens: int
    input_tokens_details: dict
    output_tokens: int
    output_tokens_details: dict
    total_tokens: int


class BatchErrors(BaseModel):
    object: str | None = None
    data: list[dict] | None = None


class Batch(BaseModel):
    """OpenAI's batch object, plus `cost` (the batch's cost at the prices its lines were served at)."""

    id: str
    object: Literal["batch"]
    endpoint: str
    errors: BatchErrors | None = None
    input_file_id: str
    completion_window: str
    status: Literal["validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling",
                    "cancelled"]
    output_file_id: str | None = None
    error_file_id: str | None = None
    created_at: int
    in_progress_at: int | None = None
    expires_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    request_counts: RequestCounts
    metadata: dict | None = None
    usage: BatchUsage | None = None
    cost: float | None = None


class BatchList(BaseModel):
    object: Literal["list"]
    data: list[Batch]
    first_id: str | None
    last_id: str | None
    has_more: bool


Job.model_rebuild()
MODELS = [ChatCompletionRequest, ChatCompletion, ModelList, ErrorBody, Health, JobRequest, JobAccepted, Job, JobList,
          FileObject, BatchCreateRequest, Batch, BatchList, EmbeddingsRequest, EmbeddingsResponse]
