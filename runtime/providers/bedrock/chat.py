"""Bedrock Converse: `POST /model/{modelId}/converse` (and `/converse-stream`).

System messages go to `system`; tool messages are sent as user turns (`toolResult` blocks; tools and
structured output in tools.py); consecutive turns of one role are merged (Converse requires
alternation). A message's `cache_hint` adds a `{"cachePoint": {"type": "default"}}` block after its
text; with none, a long system prefix gets one (`Upstream.auto_cache`, runtime/providers/prompt_cache.py).
"""

from urllib.parse import quote

import orjson

from skyrelay.runtime.canonical import ChatRequest, ChatResult, Usage
from skyrelay.runtime.errors import ContentFiltered, ProviderError, UpstreamServerError
from skyrelay.runtime.providers.base import HttpCall, Upstream
from skyrelay.runtime.providers.bedrock.errors import error_from
from skyrelay.runtime.providers.bedrock.tools import answer_of, message_blocks, tool_config
from skyrelay.runtime.providers.prompt_cache import auto_hint_index, bedrock_caches
from skyrelay.runtime.providers.request_body import append_turn, sampling_fields

_CACHE_POINT = {"cachePoint": {"type": "default"}}
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                "guardrail_intervened": "content_filter", "content_filtered": "content_filter"}


def base_url(upstream: Upstream) -> str:
    if upstream.endpoint:
        return upstream.endpoint.rstrip("/")
    return f"https://bedrock-runtime.{upstream.region or 'us-east-1'}.amazonaws.com"


def build_body(request: ChatRequest, auto_cache: bool = False) -> dict:
    """`auto_cache`: add a cachePoint after a long system prefix (prompt_cache.py) when the client set none."""
    system: list[dict] = []
    messages: list[dict] = []
    auto = auto_hint_index(request.messages, "bedrock") if auto_cache else None
    for i, m in enumerate(request.messages):
        blocks = [{"text": m.content}] if m.tool_calls is None and m.tool_call_id is None else message_blocks(m)
        if m.cache_hint or i == auto:
            blocks.append(_CACHE_POINT)
        if m.role == "system":
            system.extend(blocks)
            continue
        append_turn(messages, "assistant" if m.role == "assistant" else "user", blocks, "content")
    body: dict = {"messages": messages}
    if system:
        body["system"] = system
    config = sampling_fields(request, max_tokens="maxTokens", top_p="topP", stop="stopSequences")
    if config:
        body["inferenceConfig"] = config
    if request.tools or request.response_format:
        body["toolConfig"] = tool_config(request)
    return body


def usage_of(raw: dict | None) -> Usage:
    """Bedrock's `inputTokens` already excludes cache reads and writes."""
    if not raw:
        return Usage()
    return Usage(input_tokens=raw.get("inputTokens") or 0, cache_read_tokens=raw.get("cacheReadInputTokens") or 0,
                 cache_write_tokens=raw.get("cacheWriteInputTokens") or 0, output_tokens=raw.get("outputTokens") or 0)


class BedrockAdapter:
    kind = "bedrock"

    def build(self, upstream: Upstream, request: ChatRequest, stream: bool) -> HttpCall:
        url = f"{base_url(upstream)}/model/{quote(upstream.model, safe='')}/{'converse-stream' if stream else 'converse'}"
        headers = {"content-type": "application/json",
                   "accept": "application/vnd.amazon.eventstream" if stream else "application/json"}
        auto = upstream.auto_cache and bedrock_caches(upstream.model)
        return HttpCall("POST", url, headers, orjson.dumps(build_body(request, auto)))

    def parse(self, upstream: Upstream, status: int, headers: dict[str, str], body: bytes) -> ChatResult:
        try:
            data = orjson.loads(body)
            content = data["output"]["message"]["content"]
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise UpstreamServerError(f"malformed Converse response: {exc}") from None
        finish = STOP_REASONS.get(data.get("stopReason") or "end_turn", "stop")
        if finish == "content_filter":
            raise ContentFiltered(f"Bedrock stopped with {data.get('stopReason')}")
        text, calls, structured = answer_of(content)
        if structured:
            finish = "stop"
        return ChatResult(text=text, usage=usage_of(data.get("usage")), finish_reason=finish,
                          provider_model=upstream.model, tool_calls=calls)

    def stream_parser(self, upstream: Upstream):
        from skyrelay.runtime.providers.bedrock.stream import BedrockStreamParser

        return BedrockStreamParser()

    def error(self, status: int, headers: dict[str, str], body: bytes) -> ProviderError:
        return error_from(status, headers, body)


ADAPTER = BedrockAdapter()
