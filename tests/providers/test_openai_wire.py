"""Azure OpenAI and OpenAI-compatible translators: request bytes, usage accounting, streams, errors."""

import orjson
import pytest

from skyrelay.runtime.canonical import ChatRequest, Message
from skyrelay.runtime.errors import (
    ContentFiltered,
    ContextLengthExceeded,
    UpstreamAuth,
    UpstreamBadRequest,
    UpstreamOverloaded,
    UpstreamRateLimited,
    UpstreamServerError,
)
from skyrelay.runtime.providers.azure_openai import ADAPTER as AZURE
from skyrelay.runtime.providers.base import Upstream
from skyrelay.runtime.providers.openai_compat import ADAPTER as OPENAI
from skyrelay.runtime.providers.openai_wire import OpenAiStreamParser
from tests.providers.kit import feed_in_steps

REQ = ChatRequest(model="fast", messages=[Message("system", "be brief"), Message("user", "hi", cache_hint=True)],
                  max_tokens=50, temperature=0.2, stop=["END"])
AZ = Upstream("azure_openai", "gpt4o-dep", endpoint="https://x.openai.azure.com/", api_version="2024-10-21")


def test_azure_build_uses_deployment_path_and_no_model_field():
    call = AZURE.build(AZ, REQ, stream=True)
    assert call.url == ("https://x.openai.azure.com/openai/deployments/gpt4o-dep/chat/completions"
                        "?api-version=2024-10-21")
    body = orjson.loads(call.body)
    assert "model" not in body
    assert body["stream_options"] == {"include_usage": True} and body["stream"] is True
    assert body["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    assert body["max_tokens"] == 50 and body["stop"] == ["END"]


@pytest.mark.parametrize("endpoint", ["http://h:1", "http://h:1/v1", "http://h:1/v1/"])
def test_openai_compat_url_never_doubles_v1(endpoint):
    call = OPENAI.build(Upstream("openai_compat", "gpt-x", endpoint=endpoint), REQ, stream=False)
    assert call.url == "http://h:1/v1/chat/completions"
    body = orjson.loads(call.body)
    assert body["model"] == "gpt-x" and "stream" not in body


def test_parse_splits_cached_tokens_out_of_prompt_tokens():
    body = orjson.dumps({"model": "gpt-4o", "choices": [{"message": {"content": "yo"}, "finish_reason": "length"}],
                         "usage": {"prompt_tokens": 1500, "completion_tokens": 7,
                                   "prompt_tokens_details": {"cached_tokens": 1280}}})
    result = AZURE.parse(AZ, 200, {}, body)
    assert result.text == "yo" and result.finish_reason == "length"
    assert (result.usage.input_tokens, result.usage.cache_read_tokens, result.usage.output_tokens) == (220, 1280, 7)
    assert result.usage.input_tokens + result.usage.cache_read_tokens == 1500


def test_parse_content_filter_finish_without_text_raises():
    body = orjson.dumps({"choices": [{"message": {"content": None}, "finish_reason": "content_filter"}]})
    with pytest.raises(ContentFiltered):
        OPENAI.parse(AZ, 200, {}, body)


def test_parse_garbage_is_server_error():
    with pytest.raises(UpstreamServerError):
        OPENAI.parse(AZ, 200, {}, b"{not json")


def _sse(*objs) -> bytes:
    return b"".join(b"data: " + (o if isinstance(o, bytes) else orjson.dumps(o)) + b"\n\n" for o in objs)


STREAM = _sse(
    {"choices": [], "prompt_filter_results": []},
    {"choices": [{"delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
    {"choices": [{"delta": {"content": "Hel"}, "finish_reason": None}]},
    {"choices": [{"delta": {"content": "lo"}, "finish_reason": None}]},
    {"choices": [{"delta": {}, "finish_reason": "stop"}]},
    {"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": 4}}},
    b"[DONE]",
)


@pytest.mark.parametrize("step", [1, 7, len(STREAM)])
def test_stream_parser_any_split(step):
    deltas = feed_in_steps(OpenAiStreamParser(), STREAM, step)
    assert "".join(d.text for d in deltas) == "Hello"
    final = deltas[-1]
    assert final.finish_reason == "stop"
    assert (final.usage.input_tokens, final.usage.cache_read_tokens, final.usage.output_tokens) == (6, 4, 2)
    assert all(d.usage is None for d in deltas[:-1])


def test_stream_crlf_events():
    parser = OpenAiStreamParser()
    deltas = parser.feed(STREAM.replace(b"\n", b"\r\n"))
    parser.close()
    assert "".join(d.text for d in deltas) == "Hello"


def test_stream_without_done_fails_on_close():
    parser = OpenAiStreamParser()
    parser.feed(STREAM[: STREAM.index(b"data: [DONE]")])
    with pytest.raises(UpstreamServerError):
        parser.close()


def test_stream_malformed_chunk_raises():
    with pytest.raises(UpstreamServerError):
        OpenAiStreamParser().feed(b'data: {"choices": [\n\n')


def test_stream_in_band_error_is_mapped():
    with pytest.raises(UpstreamRateLimited):
        OpenAiStreamParser().feed(_sse({"error": {"code": "429", "message": "slow down"}}))


def test_stream_content_filter_before_text_raises():
    parser = OpenAiStreamParser()
    with pytest.raises(ContentFiltered):
        parser.feed(_sse({"choices": [{"delta": {}, "finish_reason": "content_filter"}]}, b"[DONE]"))


@pytest.mark.parametrize(("status", "headers", "body", "cls", "retry"), [
    (429, {"retry-after-ms": "1500", "retry-after": "2"}, {"error": {"code": "429", "message": "x"}},
     UpstreamRateLimited, 1.5),
    (429, {"Retry-After": "3"}, {"error": {"code": "429"}}, UpstreamRateLimited, 3.0),
    (429, {}, {"error": {"code": "rate_limit_exceeded"}}, UpstreamRateLimited, None),
    (400, {}, {"error": {"code": "context_length_exceeded", "message": "maximum context length is 8192"}},
     ContextLengthExceeded, None),
    (400, {}, {"error": {"code": "content_filter", "message": "filtered",
                         "innererror": {"code": "ResponsibleAIPolicyViolation"}}}, ContentFiltered, None),
    (401, {}, {"error": {"code": "401", "message": "Access denied"}}, UpstreamAuth, None),
    (403, {}, {"error": {"message": "forbidden"}}, UpstreamAuth, None),
    (400, {}, {"error": {"message": "bad temperature"}}, UpstreamBadRequest, None),
    (500, {}, {"error": {"message": "oops"}}, UpstreamServerError, None),
    (502, {}, b"<html>bad gateway</html>", UpstreamServerError, None),
    (503, {}, {"error": {"message": "busy"}}, UpstreamOverloaded, None),
])
def test_error_mapping(status, headers, body, cls, retry):
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    err = AZURE.error(status, headers, raw)
    assert type(err) is cls
    assert err.retry_after == retry


def test_deltas_before_a_malformed_event_are_delivered_then_the_error():
    parser = OpenAiStreamParser()
    deltas = parser.feed(_sse({"choices": [{"delta": {"content": "a"}}]}) + b"data: {broken\n\n")
    assert [d.text for d in deltas] == ["a"]
    with pytest.raises(UpstreamServerError):
        parser.feed(b"")
