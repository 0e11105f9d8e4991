"""Bedrock translators: Converse bytes, cachePoint hints, event-stream frames, errors, SigV4."""

import asyncio

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
    UpstreamTimeout,
)
from skyrelay.runtime.providers.base import HttpCall, Upstream
from skyrelay.runtime.providers.bedrock import ADAPTER
from skyrelay.runtime.providers.bedrock.auth import SigV4Signer
from skyrelay.runtime.providers.bedrock.eventstream import EventStreamDecoder
from skyrelay.runtime.simulator import eventstream as enc
from tests.providers.kit import feed_in_steps

UP = Upstream("bedrock", "anthropic.claude-3-haiku-20240307-v1:0", region="eu-west-1", auth="sigv4")


def test_build_url_encodes_model_id_and_uses_regional_endpoint():
    call = ADAPTER.build(UP, ChatRequest("m", [Message("user", "hi")]), stream=True)
    assert call.url == ("https://bedrock-runtime.eu-west-1.amazonaws.com/model/"
                        "anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream")
    assert call.headers["accept"] == "application/vnd.amazon.eventstream"


def test_build_system_cache_points_and_role_merging():
    req = ChatRequest("m", [Message("system", "sys", cache_hint=True), Message("user", "doc", cache_hint=True),
                            Message("tool", "result"), Message("assistant", "ok"), Message("user", "q")],
                      max_tokens=9, temperature=0.5, top_p=0.9, stop=["X"])
    body = orjson.loads(ADAPTER.build(UP, req, stream=False).body)
    assert body["system"] == [{"text": "sys"}, {"cachePoint": {"type": "default"}}]
    assert body["messages"] == [
        {"role": "user", "content": [{"text": "doc"}, {"cachePoint": {"type": "default"}}, {"text": "result"}]},
        {"role": "assistant", "content": [{"text": "ok"}]},
        {"role": "user", "content": [{"text": "q"}]},
    ]
    assert body["inferenceConfig"] == {"maxTokens": 9, "temperature": 0.5, "topP": 0.9, "stopSequences": ["X"]}


def test_parse_usage_with_cache_read_and_write():
    body = orjson.dumps({"output": {"message": {"role": "assistant", "content": [{"text": "a"}, {"text": "b"}]}},
                         "stopReason": "max_tokens",
                         "usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 1208,
                                   "cacheReadInputTokens": 1000, "cacheWriteInputTokens": 200}})
    r = ADAPTER.parse(UP, 200, {}, body)
    assert r.text == "ab" and r.finish_reason == "length"
    u = r.usage
    assert (u.input_tokens, u.cache_read_tokens, u.cache_write_tokens, u.output_tokens) == (5, 1000, 200, 3)
    assert u.total_tokens == 1208


@pytest.mark.parametrize("reason", ["guardrail_intervened", "content_filtered"])
def test_parse_guardrail_is_content_filtered(reason):
    body = orjson.dumps({"output": {"message": {"content": [{"text": "Sorry."}]}}, "stopReason": reason})
    with pytest.raises(ContentFiltered):
        ADAPTER.parse(UP, 200, {}, body)


def _stream(*frames: bytes) -> bytes:
    return b"".join(frames)


GOOD = _stream(
    enc.event("messageStart", {"role": "assistant"}),
    enc.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hi "}}),
    enc.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "there"}}),
    enc.event("contentBlockStop", {"contentBlockIndex": 0}),
    enc.event("messageStop", {"stopReason": "end_turn"}),
    enc.event("metadata", {"usage": {"inputTokens": 4, "outputTokens": 2, "cacheReadInputTokens": 8},
                           "metrics": {"latencyMs": 3}}),
)


def test_decoder_reads_headers_and_payload_split_anywhere():
    dec = EventStreamDecoder()
    frames = []
    for i in range(len(GOOD)):
        frames += dec.feed(GOOD[i:i + 1])
    assert [f.headers[":event-type"] for f in frames] == ["messageStart", "contentBlockDelta", "contentBlockDelta",
                                                          "contentBlockStop", "messageStop", "metadata"]
    assert frames[0].headers[":message-type"] == "event"
    assert orjson.loads(frames[1].payload)["delta"]["text"] == "Hi "
    assert dec.pending == 0


def test_decoder_rejects_bad_message_crc_and_bad_prelude():
    frame = enc.event("messageStart", {"role": "assistant"})
    with pytest.raises(UpstreamServerError, match="message CRC"):
        EventStreamDecoder().feed(enc.corrupt(frame))
    broken = frame[:8] + b"\0\0\0\0" + frame[12:]
    with pytest.raises(UpstreamServerError, match="prelude CRC"):
        EventStreamDecoder().feed(broken)


@pytest.mark.parametrize("step", [1, 13, len(GOOD)])
def test_stream_parser_deltas_and_final_usage(step):
    deltas = feed_in_steps(ADAPTER.stream_parser(UP), GOOD, step)
    assert [d.text for d in deltas[:-1]] == ["Hi ", "there"]
    assert deltas[-1].finish_reason == "stop"
    assert (deltas[-1].usage.input_tokens, deltas[-1].usage.cache_read_tokens, deltas[-1].usage.output_tokens) == (4, 8, 2)


def test_stream_without_metadata_fails_on_close():
    p = ADAPTER.stream_parser(UP)
    p.feed(GOOD[: GOOD.index(enc.event("messageStop", {"stopReason": "end_turn"}))])
    with pytest.raises(UpstreamServerError):
        p.close()


@pytest.mark.parametrize(("etype", "message", "cls"), [
    ("throttlingException", "slow down", UpstreamRateLimited),
    ("serviceUnavailableException", "busy", UpstreamOverloaded),
    ("modelStreamErrorException", "boom", UpstreamServerError),
    ("internalServerException", "boom", UpstreamServerError),
    ("validationException", "Input is too long for requested model.", ContextLengthExceeded),
])
def test_stream_exception_frames(etype, message, cls):
    p = ADAPTER.stream_parser(UP)
    p.feed(enc.event("messageStart", {"role": "assistant"}))
    with pytest.raises(cls):
        p.feed(enc.exception(etype, message))


def test_stream_guardrail_before_text_raises():
    p = ADAPTER.stream_parser(UP)
    with pytest.raises(ContentFiltered):
        p.feed(enc.event("messageStart", {"role": "assistant"})
               + enc.event("messageStop", {"stopReason": "guardrail_intervened"}))


def _err(etype: str, status: int, message: str, **headers):
    return ADAPTER.error(status, {"x-amzn-errortype": f"{etype}:http://internal.amazon.com/coral/com.amazon.bedrock/",
                                  **headers}, orjson.dumps({"message": message}))


def test_error_mapping():
    throttled = _err("ThrottlingException", 429, "Too many requests", **{"retry-after": "4"})
    assert type(throttled) is UpstreamRateLimited and throttled.retry_after == 4.0
    assert _err("ThrottlingException", 429, "x").retry_after is None
    assert type(_err("ServiceUnavailableException", 503, "x")) is UpstreamOverloaded
    assert type(_err("InternalServerException", 500, "x")) is UpstreamServerError
    assert type(_err("ModelTimeoutException", 408, "x")) is UpstreamTimeout
    assert type(_err("AccessDeniedException", 403, "x")) is UpstreamAuth
    assert type(_err("ValidationException", 400, "Input is too long for requested model.")) is ContextLengthExceeded
    assert type(_err("ValidationException", 400, "prompt has too many tokens")) is ContextLengthExceeded
    assert type(_err("ValidationException", 400, "temperature must be <= 1")) is UpstreamBadRequest
    # no header: the `__type` body field, then the status
    assert type(ADAPTER.error(429, {}, b'{"__type": "com.amazon#ThrottlingException", "message": "x"}')) \
        is UpstreamRateLimited
    assert type(ADAPTER.error(502, {}, b"")) is UpstreamServerError


def test_sigv4_signs_for_bedrock_service_and_region():
    from botocore.credentials import Credentials

    signer = SigV4Signer(Credentials("AKIDEXAMPLE", "secret", "session-token"))
    call = HttpCall("POST", "https://bedrock-runtime.eu-west-1.amazonaws.com/model/m%3A0/converse",
                    {"content-type": "application/json"}, b"{}")
    asyncio.run(signer.sign(UP, call))
    auth = call.headers["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/bedrock/aws4_request" in auth
    assert call.headers["x-amz-security-token"] == "session-token"
    assert "x-amz-date" in call.headers


def test_sigv4_uses_default_chain_from_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    call = HttpCall("POST", "https://h/model/m/converse", {}, b"{}")
    asyncio.run(SigV4Signer().sign(UP, call))
    assert "Credential=AKIDENV/" in call.headers["authorization"]


def test_environment_credentials_sign_without_importing_botocore():
    """On Lambda the role's credentials are in the environment: the first Bedrock call must not pay
    for botocore's import (~230 ms of a cold worker)."""
    import subprocess
    import sys

    script = (
        "import asyncio, sys\n"
        "from skyrelay.runtime.providers.base import HttpCall, Upstream\n"
        "from skyrelay.runtime.providers.bedrock.auth import SigV4Signer\n"
        "call = HttpCall('POST', 'https://bedrock-runtime.us-east-1.amazonaws.com/model/m%3A0/converse', {}, b'{}')\n"
        "up = Upstream(provider='bedrock', model='m:0', region='us-east-1', auth='sigv4')\n"
        "asyncio.run(SigV4Signer().sign(up, call))\n"
        "assert 'Credential=AKIDENV/' in call.headers['authorization'], call.headers\n"
        "assert call.headers['x-amz-security-token'] == 'tok'\n"
        "assert 'botocore' not in sys.modules\n"
    )
    env = {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "tok", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_frames_before_a_corrupt_one_are_delivered_then_the_error():
    p = ADAPTER.stream_parser(UP)
    good = enc.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "ok"}})
    deltas = p.feed(enc.event("messageStart", {"role": "assistant"}) + good + enc.corrupt(good))
    assert [d.text for d in deltas] == ["ok"]
    with pytest.raises(UpstreamServerError, match="CRC"):
        p.close()
