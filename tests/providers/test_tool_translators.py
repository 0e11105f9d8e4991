"""Issue 17: the tool translators as pure functions. Vertex's JSON Schema mapping equals google-genai's own
(`Schema.from_json_schema`, serialised as google-genai sends it) and refuses by name what it cannot carry;
streamed tool calls parse the same whatever the byte boundaries, on every wire."""

import orjson
import pytest
from google.genai import types

from skyrelay.runtime.canonical import ChatRequest, Message, gather_tool_calls
from skyrelay.runtime.providers.bedrock.stream import BedrockStreamParser
from skyrelay.runtime.providers.openai_wire import OpenAiStreamParser
from skyrelay.runtime.providers.vertex.stream import VertexStreamParser
from skyrelay.runtime.providers.vertex.tools import SchemaRefused, schema_problem, vertex_schema
from skyrelay.runtime.simulator import eventstream
from tests.providers.kit import feed_in_steps

SCHEMAS = [
    {"type": "object", "properties": {"city": {"type": "string", "description": "c"},
                                      "unit": {"type": ["string", "null"], "enum": ["c", "f"]}},
     "required": ["city"], "additionalProperties": False},
    {"type": "object", "properties": {"xs": {"type": "array", "items": {"type": "integer"}, "minItems": 1,
                                             "maxItems": 3},
                                      "n": {"type": "number", "minimum": 0, "maximum": 9, "format": "double"}},
     "title": "T"},
    {"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}},
    {"type": "object", "properties": {"p": {"$ref": "#/$defs/point"}}, "$defs": {"point": {
        "type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}}},
]


def _camel(value):
    """google-genai's model_dump is snake_case; its request serialisation is lowerCamelCase."""
    if isinstance(value, dict):
        return {(k.split("_")[0] + "".join(p.title() for p in k.split("_")[1:])): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


@pytest.mark.parametrize("schema", SCHEMAS)
def test_vertex_schema_mapping_equals_google_genai(schema):
    sdk = types.Schema.from_json_schema(json_schema=types.JSONSchema(**schema), api_option="VERTEX_AI")
    assert vertex_schema(schema) == _camel(sdk.model_dump(exclude_none=True, mode="json"))


@pytest.mark.parametrize(("schema", "keyword", "path"), [
    ({"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}]}}}, "oneOf", "/properties/a/oneOf"),
    ({"type": "object", "properties": {"a": {"const": 1}}}, "const", "/properties/a/const"),
    ({"type": "object", "additionalProperties": {"type": "string"}}, "additionalProperties", "/additionalProperties"),
    ({"allOf": [{"type": "object"}]}, "allOf", "/allOf"),
    ({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}, "$ref", "/properties/a"),
    ({"type": "object", "properties": {"a": True}}, "true", "/properties/a"),  # boolean schemas
])
def test_vertex_refuses_what_it_cannot_carry_by_name(schema, keyword, path):
    with pytest.raises(SchemaRefused) as err:
        vertex_schema(schema)
    assert (err.value.keyword, err.value.path) == (keyword, path)
    req = ChatRequest("m", [Message("user", "x")], tools=[{"name": "f", "parameters": schema}])
    assert schema_problem(req) == f"tools[0].function.parameters{path}: keyword {keyword!r} is not accepted by Vertex"


def _calls(deltas):
    calls = {}
    for d in deltas:
        if d.tool_calls:
            gather_tool_calls(d.tool_calls, calls)
    return [calls[i] for i in sorted(calls)], [d.finish_reason for d in deltas if d.finish_reason]


def _openai_stream() -> bytes:
    def chunk(delta, finish=None):
        return b"data: " + orjson.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}) + b"\n\n"
    return (chunk({"role": "assistant", "content": None})
            + chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                                     "function": {"name": "get_weather", "arguments": ""}}]})
            + chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]})
            + chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                                     "function": {"name": "get_time", "arguments": '{"city"'}}]})
            + chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]})
            + chunk({"tool_calls": [{"index": 1, "function": {"arguments": ':"Oslo"}'}}]}, "tool_calls")
            + b'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9}}\n\ndata: [DONE]\n\n')


def _bedrock_stream() -> bytes:
    ev = eventstream.event
    return (ev("messageStart", {"role": "assistant"})
            + ev("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Let me check."}})
            + ev("contentBlockStop", {"contentBlockIndex": 0})
            + ev("contentBlockStart", {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "call_a",
                                                                                   "name": "get_weather"}}})
            + ev("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '{"city":'}}})
            + ev("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '"Oslo"}'}}})
            + ev("contentBlockStop", {"contentBlockIndex": 1})
            + ev("contentBlockStart", {"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "call_b",
                                                                                   "name": "get_time"}}})
            + ev("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": '{"city":"Oslo"}'}}})
            + ev("contentBlockStop", {"contentBlockIndex": 2})
            + ev("messageStop", {"stopReason": "tool_use"})
            + ev("metadata", {"usage": {"inputTokens": 5, "outputTokens": 9}}))


def _vertex_stream() -> bytes:
    parts = [{"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}},
             {"functionCall": {"name": "get_time", "args": {"city": "Oslo"}}}]
    return (b"data: " + orjson.dumps({"candidates": [{"content": {"role": "model", "parts": parts}}]}) + b"\r\n\r\n"
            + b"data: " + orjson.dumps({"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]},
                                                        "finishReason": "STOP"}],
                                        "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 9}})
            + b"\r\n\r\n")


@pytest.mark.parametrize("step", [1, 7, 10_000])
@pytest.mark.parametrize(("parser", "data"), [(OpenAiStreamParser, _openai_stream), (BedrockStreamParser, _bedrock_stream),
                                              (VertexStreamParser, _vertex_stream)], ids=["openai", "bedrock", "vertex"])
def test_streamed_tool_calls_parse_whatever_the_byte_boundaries(parser, data, step):
    calls, finishes = _calls(feed_in_steps(parser(), data(), step))
    assert [(c["name"], orjson.loads(c["arguments"])) for c in calls] == [("get_weather", {"city": "Oslo"}),
                                                                          ("get_time", {"city": "Oslo"})]
    assert len({c["id"] for c in calls}) == 2 and all(c["id"] for c in calls)
    assert finishes == ["tool_calls"]


def test_bedrock_structured_answer_is_text_not_a_tool_call():
    ev = eventstream.event
    data = (ev("messageStart", {"role": "assistant"})
            + ev("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t",
                                                                                   "name": "json_response"}}})
            + ev("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '{"a":'}}})
            + ev("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": "1}"}}})
            + ev("messageStop", {"stopReason": "tool_use"}) + ev("metadata", {"usage": {"inputTokens": 1}}))
    deltas = feed_in_steps(BedrockStreamParser(), data, 5)
    assert "".join(d.text for d in deltas) == '{"a":1}'
    assert not any(d.tool_calls for d in deltas) and deltas[-1].finish_reason == "stop"
