"""Issue 17, structured output: response_format json_schema with strict returns schema-valid JSON on each
provider (streamed and not), and a provider answer that is not valid JSON fails over before the first
byte, or ends in 502 `upstream_invalid_output` when every deployment answers so."""

import json

import jsonschema
import openai
import pytest

from tests.servekit import PRO, Serve
from tests.tools.kit import PROVIDERS, per_provider_config

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                                           "tags": {"type": "array", "items": {"type": "string"}},
                                           "kind": {"type": "string", "enum": ["cat", "dog"]}},
          "required": ["name", "age", "tags", "kind"], "additionalProperties": False}
FORMAT = {"type": "json_schema", "json_schema": {"name": "pet", "schema": SCHEMA, "strict": True}}
MSG = [{"role": "user", "content": "describe a pet"}]


@pytest.fixture(scope="module")
def serve(tmp_path_factory, simulator):
    tmp = tmp_path_factory.mktemp("structured")
    with Serve(tmp, per_provider_config(tmp, simulator.base_url, cache={"enabled": False})) as srv:
        yield srv


@pytest.fixture
def client(serve, sim):
    return openai.OpenAI(base_url=serve.url + "/v1", api_key=PRO, max_retries=0)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_strict_json_schema_answer_is_schema_valid_on_each_provider(client, sim, provider):
    done = client.chat.completions.create(model=f"p-{provider}", messages=MSG, response_format=FORMAT)
    value = json.loads(done.choices[0].message.content)
    jsonschema.validate(value, SCHEMA)
    assert done.choices[0].finish_reason == "stop" and done.choices[0].message.tool_calls is None
    text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model=f"p-{provider}", messages=MSG, response_format=FORMAT, stream=True) if c.choices)
    assert json.loads(text) == value
    json_object = client.chat.completions.create(model=f"p-{provider}", messages=MSG,
                                                 response_format={"type": "json_object"})
    assert isinstance(json.loads(json_object.choices[0].message.content), dict)


def test_what_each_provider_was_asked_for(client, sim):
    for provider in PROVIDERS:
        client.chat.completions.create(model=f"p-{provider}", messages=MSG, response_format=FORMAT)
    bodies = {r["provider"]: r["body"] for r in sim.requests()}
    assert bodies["bedrock"]["toolConfig"] == {  # the documented pattern: one forced tool
        "tools": [{"toolSpec": {"name": "json_response", "description": "Answer with the response as JSON.",
                                "inputSchema": {"json": SCHEMA}}}], "toolChoice": {"tool": {"name": "json_response"}}}
    cfg = bodies["vertex"]["generationConfig"]
    assert cfg["responseMimeType"] == "application/json"
    assert cfg["responseSchema"]["properties"]["kind"] == {"type": "STRING", "enum": ["cat", "dog"]}
    assert "additionalProperties" not in cfg["responseSchema"]
    for native in ("azure_openai", "openai_compat"):
        assert bodies[native]["response_format"] == FORMAT


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_invalid_provider_json_fails_over_before_the_first_byte(client, sim, stream):
    sim.set_fault("gpt-4o", "invalid-json")  # quality-azure, the primary of `quality`
    raw = client.chat.completions.with_raw_response.create(model="quality", messages=MSG, response_format=FORMAT,
                                                           stream=stream)
    assert raw.headers["x-skyrelay-deployment"] == "quality-vertex"
    parsed = raw.parse()
    text = parsed.choices[0].message.content if not stream else \
        "".join(c.choices[0].delta.content or "" for c in parsed if c.choices)
    jsonschema.validate(json.loads(text), SCHEMA)
    assert sim.calls("gpt-4o") == {"total": 1, "invalid-json": 1}


def test_every_deployment_invalid_is_a_stable_502(client, sim):
    sim.set_fault("gpt-4o", "invalid-json")
    sim.set_fault("gemini-1.5-pro", "invalid-json")
    for stream in (False, True):
        with pytest.raises(openai.APIStatusError) as err:
            client.chat.completions.create(model="quality", messages=MSG, response_format=FORMAT, stream=stream)
        assert err.value.status_code == 502 and err.value.body["code"] == "upstream_invalid_output"
