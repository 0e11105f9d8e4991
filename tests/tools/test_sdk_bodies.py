"""Issue 17: the provider-side requests skyrelay sends for a tool conversation are what each provider's own
SDK sends. The simulator records every body; the expected ones come from the SDKs' own serialisation:
botocore's Converse serializer (boto3 `converse` toolConfig), google-genai in Vertex mode (function
declarations, its `Schema.from_json_schema` mapping), and the openai client in Azure mode, each sent to
the same simulator."""

import json

import boto3
import openai
import pytest
from botocore.config import Config
from google import genai
from google.genai import types
from google.oauth2.credentials import Credentials

from tests.servekit import PRO, Serve
from tests.tools.kit import TIME, WEATHER, per_provider_config

MAX = 4096  # what skyrelay sends upstream when the client gives no max_tokens (api.default_max_tokens)
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather",
                                                         "arguments": '{"city":"Paris","unit":"celsius"}'}}
CONVERSATION = [{"role": "system", "content": "be brief"},
                {"role": "user", "content": "weather in Paris?"},
                {"role": "assistant", "content": None, "tool_calls": [CALL]},
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
                {"role": "user", "content": "and the time?"}]


@pytest.fixture(scope="module")
def serve(tmp_path_factory, simulator):
    tmp = tmp_path_factory.mktemp("sdk")
    with Serve(tmp, per_provider_config(tmp, simulator.base_url, cache={"enabled": False})) as srv:
        yield srv


def _via_skyrelay(serve, sim, provider: str, model: str, **kw) -> dict:
    sim.reset()
    client = openai.OpenAI(base_url=serve.url + "/v1", api_key=PRO, max_retries=0)
    client.chat.completions.create(model=f"p-{provider}", messages=CONVERSATION, tools=[WEATHER, TIME], **kw)
    (got,) = sim.requests(model)
    return got["body"]


def _only_request(sim, model: str) -> dict:
    (got,) = sim.requests(model)
    return got["body"]


def test_bedrock_body_is_what_boto3_converse_sends(serve, sim):
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    body = _via_skyrelay(serve, sim, "bedrock", model, tool_choice="required")
    sim.reset()
    client = boto3.client("bedrock-runtime", endpoint_url=sim.base_url, region_name="us-east-1",
                          aws_access_key_id="AKIDSIM", aws_secret_access_key="sim",
                          config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    spec = [{"toolSpec": {"name": t["function"]["name"], "description": t["function"]["description"],
                          "inputSchema": {"json": t["function"]["parameters"]}}} for t in (WEATHER, TIME)]
    client.converse_stream(
        modelId=model, system=[{"text": "be brief"}], inferenceConfig={"maxTokens": MAX},
        messages=[{"role": "user", "content": [{"text": "weather in Paris?"}]},
                  {"role": "assistant", "content": [{"toolUse": {"toolUseId": "call_1", "name": "get_weather",
                                                                 "input": {"city": "Paris", "unit": "celsius"}}}]},
                  {"role": "user", "content": [{"toolResult": {"toolUseId": "call_1", "content": [{"text": "sunny"}]}},
                                               {"text": "and the time?"}]}],
        toolConfig={"tools": spec, "toolChoice": {"any": {}}})
    assert body == _only_request(sim, model)


def test_vertex_body_is_what_google_genai_sends(serve, sim):
    body = _via_skyrelay(serve, sim, "vertex", "gemini-1.5-pro",
                         tool_choice={"type": "function", "function": {"name": "get_time"}})
    sim.reset()
    client = genai.Client(vertexai=True, project="demo-project", location="us-central1",
                          credentials=Credentials(token="sim"),
                          http_options=types.HttpOptions(base_url=sim.base_url, api_version="v1"))
    decls = [types.FunctionDeclaration(
        name=t["function"]["name"], description=t["function"]["description"],
        parameters=types.Schema.from_json_schema(json_schema=types.JSONSchema(**t["function"]["parameters"]),
                                                 api_option="VERTEX_AI")) for t in (WEATHER, TIME)]
    contents = [types.Content(role="user", parts=[types.Part(text="weather in Paris?")]),
                types.Content(role="model", parts=[types.Part(function_call=types.FunctionCall(
                    name="get_weather", args={"city": "Paris", "unit": "celsius"}))]),
                types.Content(role="user", parts=[
                    types.Part(function_response=types.FunctionResponse(name="get_weather",
                                                                        response={"output": "sunny"})),
                    types.Part(text="and the time?")])]
    stream = client.models.generate_content_stream(
        model="gemini-1.5-pro", contents=contents,
        config=types.GenerateContentConfig(
            system_instruction=types.Content(parts=[types.Part(text="be brief")]), max_output_tokens=MAX,
            tools=[types.Tool(function_declarations=decls)],
            tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(
                mode="ANY", allowed_function_names=["get_time"]))))
    list(stream)
    expected = _only_request(sim, "gemini-1.5-pro")
    expected["systemInstruction"].pop("role", None)  # google-genai adds role "user" to the system instruction
    # google-genai 1.x writes this one field in snake_case (`allowed_function_names`); proto3 JSON parsers
    # take both spellings, and skyrelay writes the canonical lowerCamelCase every other field uses.
    fcc = expected["toolConfig"]["functionCallingConfig"]
    fcc["allowedFunctionNames"] = fcc.pop("allowed_function_names", fcc.get("allowedFunctionNames"))
    assert body == expected


def test_azure_body_is_what_the_openai_client_sends_in_azure_mode(serve, sim):
    body = _via_skyrelay(serve, sim, "azure_openai", "gpt-4o", tool_choice="auto", parallel_tool_calls=True)
    sim.reset()
    azure = openai.AzureOpenAI(azure_endpoint=sim.base_url, api_key="sim", api_version="2024-10-21", max_retries=0)
    list(azure.chat.completions.create(model="gpt-4o", messages=CONVERSATION, tools=[WEATHER, TIME],
                                       tool_choice="auto", parallel_tool_calls=True, max_tokens=MAX, stream=True,
                                       stream_options={"include_usage": True}))
    expected = _only_request(sim, "gpt-4o")
    assert expected.pop("model") == "gpt-4o"  # the openai client repeats the deployment (in the URL) in the body
    assert body == expected, json.dumps([body, expected], indent=1)
