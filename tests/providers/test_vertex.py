"""Vertex translators: generateContent bytes, cachedContent, usage, SAFETY, SSE streams, errors, auth cache."""

import asyncio
import datetime as dt

import orjson
import pytest

from skyrelay.runtime.canonical import ChatRequest, Message
from skyrelay.runtime.clouds.gcp.google_auth import GoogleTokenCache
from skyrelay.runtime.errors import (
    ContentFiltered,
    ContextLengthExceeded,
    UpstreamAuth,
    UpstreamBadRequest,
    UpstreamOverloaded,
    UpstreamRateLimited,
    UpstreamServerError,
)
from skyrelay.runtime.providers.base import HttpCall, Upstream
from skyrelay.runtime.providers.vertex import ADAPTER
from tests.providers.kit import feed_in_steps

UP = Upstream("vertex", "gemini-2.0-flash", project="p1", location="europe-west4", auth="google")
REQ = ChatRequest("m", [Message("system", "be terse", cache_hint=False), Message("user", "long doc", cache_hint=True),
                        Message("assistant", "ok"), Message("user", "question")], max_tokens=20, stop=["Z"])


def test_build_url_and_body():
    call = ADAPTER.build(UP, REQ, stream=True)
    assert call.url == ("https://europe-west4-aiplatform.googleapis.com/v1/projects/p1/locations/europe-west4"
                        "/publishers/google/models/gemini-2.0-flash:streamGenerateContent?alt=sse")
    body = orjson.loads(call.body)
    assert body["systemInstruction"] == {"parts": [{"text": "be terse"}]}
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert body["generationConfig"] == {"maxOutputTokens": 20, "stopSequences": ["Z"]}
    assert "cachedContent" not in body


def test_cached_content_replaces_the_hinted_prefix():
    up = Upstream("vertex", "g", project="p", location="l", cached_content="projects/p/locations/l/cachedContents/c1")
    body = orjson.loads(ADAPTER.build(up, REQ, stream=False).body)
    assert body["cachedContent"] == "projects/p/locations/l/cachedContents/c1"
    assert "systemInstruction" not in body
    assert body["contents"] == [{"role": "model", "parts": [{"text": "ok"}]},
                                {"role": "user", "parts": [{"text": "question"}]}]
    # without a hint, nothing is sent by reference
    plain = ChatRequest("m", [Message("user", "x")])
    assert "cachedContent" not in orjson.loads(ADAPTER.build(up, plain, stream=False).body)


def test_build_needs_project_and_location():
    with pytest.raises(UpstreamBadRequest):
        ADAPTER.build(Upstream("vertex", "g"), REQ, stream=False)


def test_parse_usage_subtracts_cached_tokens():
    body = orjson.dumps({"candidates": [{"content": {"parts": [{"text": "A"}, {"text": "B"}]}, "finishReason": "STOP"}],
                         "usageMetadata": {"promptTokenCount": 2100, "candidatesTokenCount": 5,
                                           "cachedContentTokenCount": 2048}, "modelVersion": "gemini-2.0-flash-001"})
    r = ADAPTER.parse(UP, 200, {}, body)
    assert r.text == "AB" and r.provider_model == "gemini-2.0-flash-001"
    assert (r.usage.input_tokens, r.usage.cache_read_tokens, r.usage.output_tokens) == (52, 2048, 5)


@pytest.mark.parametrize("body", [
    {"candidates": [{"finishReason": "SAFETY", "safetyRatings": []}]},
    {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}},
])
def test_parse_safety_is_content_filtered(body):
    with pytest.raises(ContentFiltered):
        ADAPTER.parse(UP, 200, {}, orjson.dumps(body))


def _sse(*objs) -> bytes:
    return b"".join(b"data: " + orjson.dumps(o) + b"\r\n\r\n" for o in objs)


STREAM = _sse({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}]},
              {"candidates": [{"content": {"role": "model", "parts": [{"text": "lo"}]}}]},
              {"candidates": [{"content": {"parts": [{"text": "!"}]}, "finishReason": "MAX_TOKENS"}],
               "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 3, "cachedContentTokenCount": 6}})


@pytest.mark.parametrize("step", [1, 9, len(STREAM)])
def test_stream_parser(step):
    deltas = feed_in_steps(ADAPTER.stream_parser(UP), STREAM, step)
    assert "".join(d.text for d in deltas) == "Hello!"
    last = deltas[-1]
    assert last.finish_reason == "length"
    assert (last.usage.input_tokens, last.usage.cache_read_tokens, last.usage.output_tokens) == (4, 6, 3)


def test_stream_without_finish_reason_fails_on_close():
    p = ADAPTER.stream_parser(UP)
    p.feed(STREAM[: STREAM.rindex(b"data: ")])
    with pytest.raises(UpstreamServerError):
        p.close()


def test_stream_safety_and_errors():
    with pytest.raises(ContentFiltered):
        ADAPTER.stream_parser(UP).feed(_sse({"candidates": [{"finishReason": "SAFETY"}]}))
    with pytest.raises(UpstreamRateLimited):
        ADAPTER.stream_parser(UP).feed(_sse({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "x"}}))
    with pytest.raises(UpstreamServerError):
        ADAPTER.stream_parser(UP).feed(b"data: {oops\r\n\r\n")


def _err(status, message, grpc, headers=None):
    return ADAPTER.error(status, headers or {}, orjson.dumps({"error": {"code": status, "message": message,
                                                                      "status": grpc}}))


def test_error_mapping():
    limited = _err(429, "Resource exhausted.", "RESOURCE_EXHAUSTED", {"retry-after": "2"})
    assert type(limited) is UpstreamRateLimited and limited.retry_after == 2.0
    assert type(_err(400, "The input token count (40000) exceeds the maximum number of tokens allowed (32768).",
                     "INVALID_ARGUMENT")) is ContextLengthExceeded
    assert type(_err(400, "Invalid temperature", "INVALID_ARGUMENT")) is UpstreamBadRequest
    assert type(_err(401, "bad creds", "UNAUTHENTICATED")) is UpstreamAuth
    assert type(_err(403, "denied", "PERMISSION_DENIED")) is UpstreamAuth
    assert type(_err(503, "unavailable", "UNAVAILABLE")) is UpstreamOverloaded
    assert type(_err(500, "internal", "INTERNAL")) is UpstreamServerError
    # streams send errors as a one-element list
    assert type(ADAPTER.error(429, {}, b'[{"error": {"code": 429, "message": "x"}}]')) is UpstreamRateLimited


class FakeCreds:
    def __init__(self, lifetime: dt.timedelta):
        self.token, self.expiry, self.refreshes, self.lifetime = None, None, 0, lifetime

    def refresh(self, request):
        self.refreshes += 1
        self.token = f"tok-{self.refreshes}"
        self.expiry = dt.datetime.now(dt.UTC).replace(tzinfo=None) + self.lifetime


def test_google_token_is_cached_until_near_expiry():
    long_lived = FakeCreds(dt.timedelta(hours=1))
    cache = GoogleTokenCache(long_lived)

    async def twice():
        return await cache.token(), await cache.token()

    assert asyncio.run(twice()) == ("tok-1", "tok-1")
    assert long_lived.refreshes == 1
    short = FakeCreds(dt.timedelta(minutes=2))  # inside the 5-minute margin: refresh every time
    cache = GoogleTokenCache(short)
    assert asyncio.run(twice()) == ("tok-1", "tok-2")


def test_google_signer_sets_bearer(monkeypatch):
    from skyrelay.runtime.providers.vertex import auth

    auth.use_credentials(FakeCreds(dt.timedelta(hours=1)))
    try:
        call = HttpCall("POST", "https://x/y", {}, b"{}")
        asyncio.run(auth.SIGNER.sign(UP, call))
        assert call.headers["authorization"] == "Bearer tok-1"
    finally:
        auth.use_credentials(None)


def test_google_refresh_failure_is_auth_error():
    class Broken:
        token = None

        def refresh(self, request):
            raise RuntimeError("no ADC")

    with pytest.raises(UpstreamAuth):
        asyncio.run(GoogleTokenCache(Broken()).token())
