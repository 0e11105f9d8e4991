"""Bedrock batch inference: `CreateModelInvocationJob` over JSONL records in S3.

The record body and `modelInvocationType` are chosen together, from one setting, so they never
disagree (LiteLLM sent an OpenAI body to Converse jobs, BerriAI/litellm#21596):
- `converse`: `modelInput` is a Converse body (`bedrock/chat.py: build_body`), the job runs Converse;
- `invoke_model`: `modelInput` is the model's native InvokeModel body; implemented for Anthropic
  (`anthropic_version: bedrock-2023-05-31`, the Messages API), the other families have their own;
- `auto` (default): `invoke_model` for `anthropic.*` models (the long-documented batch format for
  Claude), `converse` for every other model.
Output (`<output>/<job id>/<input file>.out`) lines carry `recordId` and `modelOutput` or `error`,
in no guaranteed order. Control-plane calls go to `bedrock.<region>` (the deployment's `endpoint`
when it is set, e.g. the simulator), signed with SigV4 service `bedrock` like the runtime calls.
"""

from urllib.parse import quote

import orjson

from skyrelay.runtime.canonical import ChatRequest, ChatResult, Usage
from skyrelay.runtime.errors import UpstreamBadRequest
from skyrelay.runtime.providers.base import HttpCall, Upstream
from skyrelay.runtime.providers.batch import BatchSettings, LineResult, ProviderJob, error_of
from skyrelay.runtime.providers.bedrock.chat import STOP_REASONS, build_body, usage_of

STATES = {"Submitted": "running", "Validating": "running", "Scheduled": "running", "InProgress": "running",
          "Stopping": "running", "Completed": "completed", "PartiallyCompleted": "completed", "Failed": "failed",
          "Stopped": "cancelled", "Expired": "expired"}
ANTHROPIC_VERSION = "bedrock-2023-05-31"
ANTHROPIC_STOP = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                  "refusal": "content_filter"}
JSON = {"content-type": "application/json", "accept": "application/json"}


def invocation_type(upstream: Upstream, setting: str = "auto") -> str:
    """`Converse` or `InvokeModel`: what the records are and what the job is told they are."""
    if setting == "converse":
        return "Converse"
    if setting == "invoke_model":
        if not upstream.model.startswith(("anthropic.", "us.anthropic.", "eu.anthropic.", "apac.anthropic.")):
            raise UpstreamBadRequest(f"batch.invocation invoke_model: no native body for {upstream.model} here "
                                     "(Anthropic only); use converse")
        return "InvokeModel"
    return invocation_type(upstream, "invoke_model" if "anthropic." in upstream.model else "converse")


def anthropic_body(request: ChatRequest) -> dict:
    system = "\n\n".join(m.content for m in request.messages if m.role == "system")
    messages: list[dict] = []
    for m in request.messages:
        if m.role == "system":
            continue
        role = "assistant" if m.role == "assistant" else "user"
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].append({"type": "text", "text": m.content})
        else:
            messages.append({"role": role, "content": [{"type": "text", "text": m.content}]})
    body: dict = {"anthropic_version": ANTHROPIC_VERSION, "max_tokens": request.max_tokens or 1024, "messages": messages}
    if system:
        body["system"] = system
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    return body


def control_url(upstream: Upstream) -> str:
    if upstream.endpoint:
        return upstream.endpoint.rstrip("/")
    return f"https://bedrock.{upstream.region or 'us-east-1'}.amazonaws.com"


def job_id_of(arn: str) -> str:
    """The id part of a job ARN (`arn:aws:bedrock:<region>:<account>:model-invocation-job/<id>`): the output folder."""
    return arn.rsplit("/", 1)[-1]


class BedrockBatch:
    kind = "bedrock"
    input_mode = "uri"
    output_suffix = ".jsonl.out"

    def record(self, record_id: str, upstream: Upstream, request: ChatRequest, settings: dict) -> dict:
        kind = invocation_type(upstream, settings.get("invocation", "auto"))
        body = build_body(request) if kind == "Converse" else anthropic_body(request)
        return {"recordId": record_id, "modelInput": body}

    def create(self, upstream: Upstream, s: BatchSettings) -> HttpCall:
        if not s.role_arn:
            raise UpstreamBadRequest("bedrock batch needs a service role: batch.role_arn (deployment.BATCH_ROLE_ARN)")
        body = {"jobName": s.name, "roleArn": s.role_arn, "modelId": upstream.model,
                "clientRequestToken": s.name,  # Bedrock's own idempotency: a retried create returns the same job
                "modelInvocationType": invocation_type(upstream, s.invocation),
                "timeoutDurationInHours": max(24, min(168, s.timeout_hours)),
                "inputDataConfig": {"s3InputDataConfig": {"s3Uri": s.input, "s3InputFormat": "JSONL"}},
                "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": s.output}}}
        return HttpCall("POST", f"{control_url(upstream)}/model-invocation-job", dict(JSON), orjson.dumps(body))

    def created(self, body: bytes) -> str:
        return orjson.loads(body)["jobArn"]

    def status(self, upstream: Upstream, job_id: str) -> HttpCall:
        return HttpCall("GET", f"{control_url(upstream)}/model-invocation-job/{quote(job_id, safe='')}", dict(JSON), b"")

    def parse_status(self, body: bytes) -> ProviderJob:
        doc = orjson.loads(body)
        raw = doc.get("status", "")
        return ProviderJob(STATES.get(raw, "running"), raw, doc.get("message") or "")

    def cancel(self, upstream: Upstream, job_id: str) -> HttpCall:
        return HttpCall("POST", f"{control_url(upstream)}/model-invocation-job/{quote(job_id, safe='')}/stop",
                        dict(JSON), b"")

    def output_line(self, upstream: Upstream, line: bytes, settings: dict) -> LineResult:
        doc = orjson.loads(line)
        rid = doc.get("recordId")
        if doc.get("error"):
            err = doc["error"]
            return LineResult(rid, error=error_of("upstream_line_error",
                                                  f"{err.get('errorCode', '')}: {err.get('errorMessage', '')}"))
        out = doc.get("modelOutput") or {}
        if "output" in out:  # Converse
            content = (out.get("output") or {}).get("message", {}).get("content") or []
            text = "".join(b.get("text", "") for b in content if isinstance(b, dict))
            finish = STOP_REASONS.get(out.get("stopReason") or "end_turn", "stop")
            usage = usage_of(out.get("usage"))
        else:  # InvokeModel, Anthropic Messages
            text = "".join(b.get("text", "") for b in out.get("content") or () if isinstance(b, dict))
            finish = ANTHROPIC_STOP.get(out.get("stop_reason") or "end_turn", "stop")
            u = out.get("usage") or {}
            usage = Usage(u.get("input_tokens") or 0, u.get("cache_read_input_tokens") or 0,
                          u.get("cache_creation_input_tokens") or 0, u.get("output_tokens") or 0)
        if finish == "content_filter":
            return LineResult(rid, error=error_of("content_filtered", f"Bedrock stopped with {finish}"))
        return LineResult(rid, ChatResult(text, usage, finish, upstream.model))


TRANSLATOR = BedrockBatch()
