"""The batch translators' pure mapping: Bedrock's record body and modelInvocationType always agree (the
LiteLLM bug was an OpenAI body sent to Converse jobs), Vertex's correlation rides in the request labels,
Azure's lines name the deployment. Then the simulator's own check: a job whose records do not match its
modelInvocationType fails those records, as Bedrock does."""

import asyncio
import uuid

import orjson
import pytest

from skyrelay.runtime.canonical import ChatRequest, Message
from skyrelay.runtime.errors import UpstreamBadRequest
from skyrelay.runtime.providers.base import Upstream
from skyrelay.runtime.providers.batch import BatchSettings, translator_for

REQ = ChatRequest("m", [Message("system", "be brief"), Message("user", "hello there")], max_tokens=7)


def bedrock(model: str) -> Upstream:
    return Upstream("bedrock", model, region="us-east-1", auth="none")


@pytest.mark.parametrize(("model", "setting", "kind"), [
    ("anthropic.claude-3-haiku-20240307-v1:0", "auto", "InvokeModel"),
    ("us.anthropic.claude-3-5-sonnet-20240620-v1:0", "auto", "InvokeModel"),
    ("amazon.nova-lite-v1:0", "auto", "Converse"),
    ("meta.llama3-8b-instruct-v1:0", "auto", "Converse"),
    ("anthropic.claude-3-haiku-20240307-v1:0", "converse", "Converse"),
    ("anthropic.claude-3-haiku-20240307-v1:0", "invoke_model", "InvokeModel"),
])
def test_bedrock_record_body_and_invocation_type_agree(model, setting, kind):
    tr = translator_for("bedrock")
    record = tr.record("0", bedrock(model), REQ, {"invocation": setting})
    body = record["modelInput"]
    if kind == "Converse":
        assert "anthropic_version" not in body and body["messages"][0]["content"] == [{"text": "hello there"}]
        assert body["system"] == [{"text": "be brief"}] and body["inferenceConfig"]["maxTokens"] == 7
    else:
        assert body["anthropic_version"] == "bedrock-2023-05-31" and body["system"] == "be brief"
        assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hello there"}]}]
        assert body["max_tokens"] == 7
    call = tr.create(bedrock(model), BatchSettings("grp_1", "s3://b/in.jsonl", "s3://b/out/", role_arn="arn:r",
                                                   invocation=setting))
    sent = orjson.loads(call.body)
    assert sent["modelInvocationType"] == kind and sent["clientRequestToken"] == "grp_1"
    assert call.url == "https://bedrock.us-east-1.amazonaws.com/model-invocation-job"


def test_bedrock_invoke_model_is_refused_where_no_native_body_exists():
    with pytest.raises(UpstreamBadRequest, match="Anthropic only"):
        translator_for("bedrock").record("0", bedrock("amazon.nova-lite-v1:0"), REQ, {"invocation": "invoke_model"})
    with pytest.raises(UpstreamBadRequest, match="role"):
        translator_for("bedrock").create(bedrock("amazon.nova-lite-v1:0"), BatchSettings("g", "s3://b/i", "s3://b/o"))


def test_bedrock_output_lines_map_both_shapes_and_errors():
    tr, up = translator_for("bedrock"), bedrock("x")
    converse = tr.output_line(up, orjson.dumps({"recordId": "3", "modelOutput": {
        "output": {"message": {"content": [{"text": "hi"}]}}, "stopReason": "max_tokens",
        "usage": {"inputTokens": 4, "outputTokens": 2}}}), {})
    assert (converse.record_id, converse.result.text, converse.result.finish_reason) == ("3", "hi", "length")
    native = tr.output_line(up, orjson.dumps({"recordId": "4", "modelOutput": {
        "content": [{"type": "text", "text": "yo"}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 5, "output_tokens": 1, "cache_read_input_tokens": 2}}}), {})
    assert native.result.usage.input_tokens == 5 and native.result.usage.cache_read_tokens == 2
    failed = tr.output_line(up, b'{"recordId": "5", "error": {"errorCode": 400, "errorMessage": "bad"}}', {})
    assert failed.record_id == "5" and failed.error == {"code": "upstream_line_error", "message": "400: bad"}


def test_vertex_carries_the_record_id_in_labels_and_says_when_it_is_lost():
    tr = translator_for("vertex")
    up = Upstream("vertex", "gemini-1.5-flash", project="p", location="us-central1")
    record = tr.record("17", up, REQ, {})
    assert record["request"]["labels"] == {"skyrelay_record": "17"}
    assert record["request"]["generationConfig"]["maxOutputTokens"] == 7
    row = {"request": record["request"], "response": {"candidates": [{"content": {"parts": [{"text": "ok"}]},
                                                                      "finishReason": "STOP"}],
                                                      "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1}},
           "status": ""}
    got = tr.output_line(up, orjson.dumps(row), {})
    assert got.record_id == "17" and got.result.text == "ok" and got.result.usage.input_tokens == 3
    lost = tr.output_line(up, orjson.dumps({**row, "request": {"contents": []}}), {})
    assert lost.record_id is None and lost.error["code"] == "batch_correlation_lost"


def test_azure_lines_name_the_global_batch_deployment():
    tr = translator_for("azure_openai")
    up = Upstream("azure_openai", "gpt-4o-batch", endpoint="https://r.openai.azure.com", api_version="2024-10-21")
    record = tr.record("2", up, REQ, {})
    assert record == {"custom_id": "2", "method": "POST", "url": "/chat/completions", "body": {
        "model": "gpt-4o-batch", "messages": [{"role": "system", "content": "be brief"},
                                              {"role": "user", "content": "hello there"}], "max_tokens": 7}}
    assert tr.create(up, BatchSettings("g", "file-1", "")).url == \
        "https://r.openai.azure.com/openai/batches?api-version=2024-10-21"
    assert translator_for("openai_compat") is None


def test_the_simulator_fails_records_that_do_not_match_the_invocation_type(tmp_path, sim):
    from skyrelay.runtime.batch.transport import Transport
    from skyrelay.runtime.storage import make_storage

    async def run():
        storage = make_storage("local", {"root": str(tmp_path)})
        tr, up = translator_for("bedrock"), Upstream("bedrock", "anthropic.claude-3-haiku-20240307-v1:0",
                                                     endpoint=sim.base_url, auth="none")
        converse = [tr.record(str(i), up, REQ, {"invocation": "converse"}) for i in range(3)]
        await storage.put("in.jsonl", b"".join(orjson.dumps(r) + b"\n" for r in converse))
        transport = Transport()
        try:
            out = {}
            for setting in ("converse", "invoke_model"):  # the right pairing, then a wrong one
                name = f"g-{uuid.uuid4().hex[:6]}"
                call = tr.create(up, BatchSettings(name, storage.uri("in.jsonl"), storage.uri(f"{name}/"),
                                                   role_arn="arn:r", invocation=setting))
                arn = tr.created(await transport.send(up, call, "create"))
                assert tr.parse_status(await transport.send(up, tr.status(up, arn), "status")).state == "completed"
                [key] = [k for k in await storage.list(name) if k.endswith(".jsonl.out")]
                out[setting] = [tr.output_line(up, x, {}) for x in (await storage.get(key)).splitlines()]
            return out
        finally:
            await transport.close()

    out = asyncio.run(run())
    assert all(r.result is not None for r in out["converse"]) and len(out["converse"]) == 3
    assert all(r.error and "does not match modelInvocationType InvokeModel" in r.error["message"]
               for r in out["invoke_model"]) and len(out["invoke_model"]) == 3
