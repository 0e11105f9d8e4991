"""Vertex AI Gemini: `:generateContent` and `:streamGenerateContent?alt=sse`.

Prompt caching: when `Upstream.cached_content` names a `cachedContents/...` resource and the
request carries a `cache_hint`, the messages up to and including the last hinted one (the system
instruction among them) are assumed to live in that resource: they are dropped from the request
and the resource is sent as `cachedContent`. `promptTokenCount` includes the cached tokens, so
canonical input = promptTokenCount - cachedContentTokenCount.
"""

import orjson

from skyrelay.runtime.canonical import ChatRequest, ChatResult, Usage
from skyrelay.runtime.errors import ContentFiltered, ProviderError, UpstreamBadRequest, UpstreamServerError
from skyrelay.runtime.providers.base import HttpCall, Upstream
from skyrelay.runtime.providers.request_body import append_turn, sampling_fields
from skyrelay.runtime.providers.vertex.errors import error_from
from skyrelay.runtime.providers.vertex.tools import calls_of, json_config, parts_of, tool_fields

FILTER_REASONS = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"})
FINISH = {"STOP": "stop", "MAX_TOKENS": "length", "MALFORMED_FUNCTION_CALL": "error", "OTHER": "stop",
          "FINISH_REASON_UNSPECIFIED": "stop"}


def finish_of(reason: str | None) -> str:
    if reason in FILTER_REASONS:
        return "content_filter"
    return FINISH.get(reason or "STOP", "stop")


def model_url(upstream: Upstream, stream: bool) -> str:
    if not upstream.project or not upstream.location:
        raise UpstreamBadRequest("vertex upstream needs project and location")
    base = (upstream.endpoint or f"https://{upstream.location}-aiplatform.googleapis.com").rstrip("/")
    verb = "streamGenerateContent?alt=sse" if stream else "generateContent"
    return (f"{base}/v1/projects/{upstream.project}/locations/{upstream.location}"
            f"/publishers/google/models/{upstream.model}:{verb}")


def build_body(upstream: Upstream, request: ChatRequest) -> dict:
    messages = request.messages
    body: dict = {}
    if upstream.cached_content:
        last_hint = max((i for i, m in enumerate(messages) if m.cache_hint), default=-1)
        if last_hint >= 0:
            body["cachedContent"] = upstream.cached_content
            messages = messages[last_hint + 1:]
    system = [{"text": m.content} for m in messages if m.role == "system"]
    contents: list[dict] = []
    for m in messages:
        if m.role == "system":
            continue
        parts = [{"text": m.content}] if m.tool_calls is None and m.tool_call_id is None else parts_of(m)
        append_turn(contents, "model" if m.role == "assistant" else "user", parts, "parts")
    body["contents"] = contents
    if system:
        body["systemInstruction"] = {"parts": system}
    config = sampling_fields(request, max_tokens="maxOutputTokens", top_p="topP", stop="stopSequences")
    if request.seed is not None:
        config["seed"] = request.seed
    if request.logprobs:
        config["responseLogprobs"] = True
        if request.top_logprobs:
            config["logprobs"] = request.top_logprobs
    if request.response_format:
        config.update(json_config(request))
    if config:
        body["generationConfig"] = config
    if request.tools or request.tool_choice:
        body.update(tool_fields(request))
    return body


def usage_of(raw: dict | None) -> Usage:
    if not raw:
        return Usage()
    prompt = raw.get("promptTokenCount") or 0
    cached = raw.get("cachedContentTokenCount") or 0
    output = (raw.get("candidatesTokenCount") or 0) + (raw.get("thoughtsTokenCount") or 0)
    return Usage(input_tokens=prompt - cached, cache_read_tokens=cached, output_tokens=output)


def candidate_text(candidate: dict) -> str:
    parts = (candidate.get("content") or {}).get("parts") or ()
    return "".join(p.get("text", "") for p in parts if isinstance(p, dict) and not p.get("thought"))


def logprobs_of(candidate: dict) -> list[dict] | None:
    """`logprobsResult` as OpenAI's `logprobs.content` entries: each chosen token with its log probability
    and, position by position, the top candidates."""
    result = candidate.get("logprobsResult")
    if not isinstance(result, dict):
        return None
    tops = result.get("topCandidates") or []
    out = []
    for i, chosen in enumerate(result.get("chosenCandidates") or ()):
        top = (tops[i].get("candidates") or []) if i < len(tops) and isinstance(tops[i], dict) else []
        out.append({**_entry(chosen), "top_logprobs": [_entry(c) for c in top]})
    return out


def _entry(c: dict) -> dict:
    token = str(c.get("token") or "")
    return {"token": token, "logprob": float(c.get("logProbability") or 0.0), "bytes": list(token.encode())}


def check_prompt_blocked(data: dict) -> None:
    feedback = data.get("promptFeedback") or {}
    if feedback.get("blockReason"):
        raise ContentFiltered(f"Vertex blocked the prompt: {feedback['blockReason']}")


class VertexAdapter:
    kind = "vertex"

    def build(self, upstream: Upstream, request: ChatRequest, stream: bool) -> HttpCall:
        headers = {"content-type": "application/json",
                   "accept": "text/event-stream" if stream else "application/json"}
        return HttpCall("POST", model_url(upstream, stream), headers, orjson.dumps(build_body(upstream, request)))

    def parse(self, upstream: Upstream, status: int, headers: dict[str, str], body: bytes) -> ChatResult:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise UpstreamServerError("malformed generateContent response") from None
        if not isinstance(data, dict):
            raise UpstreamServerError("malformed generateContent response")
        check_prompt_blocked(data)
        candidates = data.get("candidates") or []
        if not candidates:
            raise UpstreamServerError("generateContent returned no candidates")
        candidate = candidates[0]
        text = candidate_text(candidate)
        finish = finish_of(candidate.get("finishReason"))
        calls = calls_of((candidate.get("content") or {}).get("parts")) or None
        if finish == "content_filter" and not text and not calls:
            raise ContentFiltered(f"Vertex finishReason {candidate.get('finishReason')}")
        if calls and finish == "stop":
            finish = "tool_calls"  # Gemini ends a function-calling turn with STOP
        return ChatResult(text=text, usage=usage_of(data.get("usageMetadata")), finish_reason=finish,
                          provider_model=data.get("modelVersion") or upstream.model, tool_calls=calls,
                          logprobs=logprobs_of(candidate))

    def stream_parser(self, upstream: Upstream):
        from skyrelay.runtime.providers.vertex.stream import VertexStreamParser

        return VertexStreamParser()

    def error(self, status: int, headers: dict[str, str], body: bytes) -> ProviderError:
        return error_from(status, headers, body)


ADAPTER = VertexAdapter()
