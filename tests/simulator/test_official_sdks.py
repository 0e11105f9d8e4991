"""The simulator speaks the real protocols: the official SDK clients work against it, streaming included."""

import boto3
import openai
import pytest
from botocore.config import Config

MSG = "alpha beta gamma"


@pytest.fixture
def bedrock(sim):
    return boto3.client("bedrock-runtime", endpoint_url=sim.base_url, region_name="us-east-1",
                        aws_access_key_id="AKIDSIM", aws_secret_access_key="sim",
                        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def test_boto3_converse_with_cache_point(sim, bedrock):
    messages = [{"role": "user", "content": [{"text": "one two three four"}, {"cachePoint": {"type": "default"}},
                                             {"text": MSG}]}]
    first = bedrock.converse(modelId="anthropic.claude-3-haiku-20240307-v1:0", messages=messages,
                             inferenceConfig={"maxTokens": 5})
    assert first["output"]["message"]["content"][0]["text"] == "one two three four alpha"  # echoes the last user turn
    assert first["stopReason"] == "max_tokens"
    assert first["usage"]["cacheWriteInputTokens"] == 4 and first["usage"]["inputTokens"] == 3
    second = bedrock.converse(modelId="anthropic.claude-3-haiku-20240307-v1:0", messages=messages)
    assert second["usage"]["cacheReadInputTokens"] == 4 and second["usage"]["outputTokens"] == 12
    assert sim.calls("anthropic.claude-3-haiku-20240307-v1:0") == {"total": 2, "ok": 2}


def test_boto3_converse_stream(sim, bedrock):
    resp = bedrock.converse_stream(modelId="m-stream", messages=[{"role": "user", "content": [{"text": MSG}]}])
    events = list(resp["stream"])
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == " ".join((MSG.split() * 4)[:12])
    assert events[0] == {"messageStart": {"role": "assistant"}}
    assert events[-2] == {"messageStop": {"stopReason": "end_turn"}}
    assert events[-1]["metadata"]["usage"]["inputTokens"] == 3


def test_boto3_sees_real_error_shapes(sim, bedrock):
    with pytest.raises(bedrock.exceptions.ThrottlingException):
        bedrock.converse(modelId="x-fault-429", messages=[{"role": "user", "content": [{"text": "hi"}]}])
    with pytest.raises(bedrock.exceptions.ValidationException, match="too long"):
        bedrock.converse(modelId="x-fault-context-length", messages=[{"role": "user", "content": [{"text": "hi"}]}])
    with pytest.raises(bedrock.exceptions.ServiceUnavailableException):
        bedrock.converse(modelId="x-fault-503", messages=[{"role": "user", "content": [{"text": "hi"}]}])


@pytest.fixture
def azure(sim):
    return openai.AzureOpenAI(azure_endpoint=sim.base_url, api_key="sim", api_version="2024-10-21", max_retries=0)


def test_azure_openai_sync_and_stream(sim, azure):
    r = azure.chat.completions.create(model="gpt4o-east", messages=[{"role": "user", "content": MSG}], max_tokens=4)
    assert r.choices[0].message.content == "alpha beta gamma alpha"
    assert r.choices[0].finish_reason == "length"
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (3, 4)
    chunks = list(azure.chat.completions.create(model="gpt4o-east", messages=[{"role": "user", "content": MSG}],
                                                stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.split() == (MSG.split() * 4)[:12]
    assert chunks[-1].usage.completion_tokens == 12
    assert sim.calls("gpt4o-east")["total"] == 2


def test_azure_openai_automatic_prompt_cache(sim, azure):
    sim.configure(auto_cache_min_tokens=128)
    doc = " ".join(f"w{i}" for i in range(300))
    msgs = [{"role": "system", "content": doc}, {"role": "user", "content": "q"}]
    first = azure.chat.completions.create(model="dep-cache", messages=msgs)
    second = azure.chat.completions.create(model="dep-cache", messages=msgs)
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    assert second.usage.prompt_tokens_details.cached_tokens == 256  # 128-token increments
    assert second.usage.prompt_tokens == 301


def test_azure_openai_errors(sim, azure):
    with pytest.raises(openai.RateLimitError) as info:
        azure.chat.completions.create(model="x-fault-429-3", messages=[{"role": "user", "content": "hi"}])
    assert info.value.response.headers["retry-after"] == "3"
    assert info.value.response.headers["retry-after-ms"] == "3000"
    with pytest.raises(openai.BadRequestError) as info:
        azure.chat.completions.create(model="x-fault-content-filter", messages=[{"role": "user", "content": "hi"}])
    assert info.value.code == "content_filter"


def test_openai_client_sync_and_stream(sim):
    client = openai.OpenAI(base_url=sim.base_url + "/v1", api_key="sk-sim", max_retries=0)
    r = client.chat.completions.create(model="gpt-sim", messages=[{"role": "user", "content": MSG}])
    assert r.model == "gpt-sim" and r.usage.total_tokens == 15
    stream = client.chat.completions.create(model="gpt-sim", messages=[{"role": "user", "content": MSG}], stream=True)
    chunks = list(stream)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == r.choices[0].message.content
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="x-fault-context-length", messages=[{"role": "user", "content": "hi"}])
    assert info.value.code == "context_length_exceeded"


@pytest.fixture
def genai_client(sim):
    import google.oauth2.credentials
    from google import genai
    from google.genai.types import HttpOptions

    return genai.Client(vertexai=True, project="sim-project", location="us-central1",
                        credentials=google.oauth2.credentials.Credentials(token="fake"),
                        http_options=HttpOptions(base_url=sim.base_url))


def test_google_genai_vertex_generate_and_stream(sim, genai_client):
    r = genai_client.models.generate_content(model="gemini-2.0-flash", contents=MSG)
    assert r.text == " ".join((MSG.split() * 4)[:12])
    assert r.usage_metadata.prompt_token_count == 3 and r.usage_metadata.candidates_token_count == 12
    chunks = list(genai_client.models.generate_content_stream(model="gemini-2.0-flash", contents=MSG))
    assert "".join(c.text or "" for c in chunks) == r.text
    assert chunks[-1].candidates[0].finish_reason.name == "STOP"
    assert chunks[-1].usage_metadata.total_token_count == 15
    assert sim.calls("gemini-2.0-flash") == {"total": 2, "ok": 2}


def test_google_genai_errors(sim, genai_client):
    from google.genai import errors

    with pytest.raises(errors.ClientError) as info:
        genai_client.models.generate_content(model="x-fault-429", contents="hi")
    assert info.value.code == 429
    with pytest.raises(errors.ServerError):
        genai_client.models.generate_content(model="x-fault-500", contents="hi")
