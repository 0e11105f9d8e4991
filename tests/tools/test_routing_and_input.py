"""Issue 17: capability-aware routing and bad input, through `skyrelay serve` and the openai client.

- A model whose primary lacks tools serves tool requests from the secondary (and plain chat still from the
  primary); a model where no deployment has tools answers 400 `unsupported_capability` naming it.
- A parameter no deployment of the model can carry is 400 `unsupported_parameter` naming the parameter
  and the deployment; a deployment that would have to drop it is skipped when another can carry it.
- Malformed tool schemas, a tool message without a matching call and an unknown tool_choice function are
  4xx with stable codes. None of these refusals reaches an upstream.
"""

import openai
import pytest

from tests.servekit import PRO, Serve
from tests.tools.kit import WEATHER, per_provider_config

HI = [{"role": "user", "content": "get_weather for Rome"}]


@pytest.fixture(scope="module")
def serve(tmp_path_factory, simulator):
    tmp = tmp_path_factory.mktemp("caps")
    cfg = per_provider_config(tmp, simulator.base_url, cache={"enabled": False})
    for d in cfg["deployments"]:
        if d["name"] == "fast-bedrock":  # the primary of `fast` declares no tools; fast-openai does
            d["capabilities"] = ["fast", "cheap"]
        if d["model"] == "quality":  # no deployment of `quality` declares tools or json_schema
            d["capabilities"] = ["quality"]
    with Serve(tmp, cfg) as srv:
        yield srv


@pytest.fixture
def client(serve, sim):
    return openai.OpenAI(base_url=serve.url + "/v1", api_key=PRO, max_retries=0)


def _refused(client, sim, code: str, **kw) -> str:
    before = sim.calls()["total"]
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as err:
            client.chat.completions.create(stream=stream, **kw)
        assert err.value.body["code"] == code, err.value.body
    assert sim.calls()["total"] == before  # no upstream call
    return err.value.body["message"]


def test_primary_without_tools_serves_tools_from_the_secondary(client, sim):
    plain = client.chat.completions.with_raw_response.create(model="fast", messages=HI)
    assert plain.headers["x-skyrelay-deployment"] == "fast-bedrock"
    for stream in (False, True):
        raw = client.chat.completions.with_raw_response.create(model="fast", messages=HI, tools=[WEATHER],
                                                               stream=stream)
        assert raw.headers["x-skyrelay-deployment"] == "fast-openai"
    assert sim.total("anthropic.claude-3-haiku-20240307-v1:0") == 1  # only the plain chat


def test_primary_without_tools_is_skipped_also_when_the_secondary_fails(client, sim):
    sim.set_fault("gpt-4o-mini", "500")
    with pytest.raises(openai.InternalServerError) as err:
        client.chat.completions.create(model="fast", messages=HI, tools=[WEATHER])
    assert err.value.body["code"] == "upstream_server_error"  # never degraded to the tool-less primary
    assert sim.total("anthropic.claude-3-haiku-20240307-v1:0") == 0


def test_no_deployment_with_the_capability_is_a_400_naming_it(client, sim):
    message = _refused(client, sim, "unsupported_capability", model="quality", messages=HI, tools=[WEATHER])
    assert message.startswith("tools: ") and "quality-azure" in message and "quality-vertex" in message
    message = _refused(client, sim, "unsupported_capability", model="quality", messages=HI,
                       response_format={"type": "json_object"})
    assert message.startswith("json_schema: ")
    turns = HI + [{"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {
        "name": "get_weather", "arguments": "{}"}}]}, {"role": "tool", "tool_call_id": "c1", "content": "rain"}]
    assert _refused(client, sim, "unsupported_capability", model="quality", messages=turns).startswith("tools: ")


def test_parameter_no_deployment_carries_is_refused_naming_it_and_the_deployment(client, sim):
    message = _refused(client, sim, "unsupported_parameter", model="p-bedrock", messages=HI, seed=7)
    assert message.startswith("seed: ") and "dep-bedrock (bedrock)" in message
    message = _refused(client, sim, "unsupported_parameter", model="p-bedrock", messages=HI, tools=[WEATHER],
                       tool_choice="none")
    assert message.startswith("tool_choice: ") and "dep-bedrock" in message
    message = _refused(client, sim, "unsupported_parameter", model="p-vertex", messages=HI, tools=[WEATHER],
                       parallel_tool_calls=False)
    assert message.startswith("parallel_tool_calls: ") and "dep-vertex" in message
    for provider in ("vertex", "bedrock"):
        message = _refused(client, sim, "unsupported_parameter", model=f"p-{provider}", messages=HI, n=2)
        assert message.startswith("n: ") and f"dep-{provider}" in message
    message = _refused(client, sim, "unsupported_parameter", model="p-bedrock", messages=HI, logprobs=True)
    assert message.startswith("logprobs: ") and "dep-bedrock" in message


@pytest.mark.parametrize("provider", ["azure_openai", "openai_compat"])
def test_n_choices_are_relayed_by_index(client, sim, provider):
    done = client.chat.completions.create(model=f"p-{provider}", messages=HI, n=3)
    assert [c.index for c in done.choices] == [0, 1, 2]
    assert len({c.message.content for c in done.choices}) == 1 and all(c.finish_reason == "stop" for c in done.choices)
    texts, finishes = {}, {}
    for chunk in client.chat.completions.create(model=f"p-{provider}", messages=HI, n=3, stream=True):
        for c in chunk.choices:
            texts[c.index] = texts.get(c.index, "") + (c.delta.content or "")
            finishes[c.index] = c.finish_reason or finishes.get(c.index)
    assert texts == {i: done.choices[0].message.content for i in range(3)}
    assert finishes == {0: "stop", 1: "stop", 2: "stop"}
    assert sim.requests()[-1]["body"]["n"] == 3
    with pytest.raises(openai.BadRequestError) as err:  # fast-bedrock cannot; fast-openai can
        client.chat.completions.create(model="p-bedrock", messages=HI, n=2)
    assert err.value.body["code"] == "unsupported_parameter"
    raw = client.chat.completions.with_raw_response.create(model="fast", messages=HI, n=2)
    assert raw.headers["x-skyrelay-deployment"] == "fast-openai" and len(raw.parse().choices) == 2


@pytest.mark.parametrize("provider", ["azure_openai", "openai_compat", "vertex"])
def test_logprobs_are_relayed_from_openai_wire_upstreams_and_translated_from_vertex(client, sim, provider):
    done = client.chat.completions.create(model=f"p-{provider}", messages=HI, logprobs=True, top_logprobs=2)
    content = done.choices[0].logprobs.content
    assert "".join(e.token for e in content) == done.choices[0].message.content
    assert all(len(e.top_logprobs) == 2 and e.logprob == -len(e.token) / 10 for e in content)
    chunks = [c for c in client.chat.completions.create(model=f"p-{provider}", messages=HI, logprobs=True,
                                                        stream=True) if c.choices and c.choices[0].delta.content]
    assert chunks and all(c.choices[0].logprobs.content[0].token == c.choices[0].delta.content for c in chunks)
    body = sim.requests()[-1]["body"]
    if provider == "vertex":
        assert body["generationConfig"]["responseLogprobs"] is True and "logprobs" not in body["generationConfig"]
    else:
        assert body["logprobs"] is True and "top_logprobs" not in body
    plain = client.chat.completions.create(model=f"p-{provider}", messages=HI)
    assert plain.choices[0].logprobs is None


def test_a_deployment_that_cannot_carry_a_parameter_is_skipped(client, sim):
    raw = client.chat.completions.with_raw_response.create(model="fast", messages=HI, seed=7)
    assert raw.headers["x-skyrelay-deployment"] == "fast-openai"  # Converse has no seed
    assert sim.requests("gpt-4o-mini")[-1]["body"]["seed"] == 7
    client.chat.completions.create(model="p-vertex", messages=HI, seed=7, stop=["zz"])
    assert sim.requests("gemini-1.5-pro")[-1]["body"]["generationConfig"]["seed"] == 7


BAD_SCHEMAS = [
    ({"type": "function", "function": {"name": "f", "parameters": {"type": 5}}}, "tools[0].function.parameters"),
    ({"type": "function", "function": {"name": "has space"}}, "tools[0].function.name"),
    ({"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}, "tools[0].function.parameters"),
    ({"type": "retrieval"}, "tools[0]"),
    ({"type": "function", "function": {"name": "f", "parameters": {"type": "object", "required": "x"}}},
     "tools[0].function.parameters"),
]


@pytest.mark.parametrize(("tool", "field"), BAD_SCHEMAS)
def test_malformed_tool_schema_is_a_400_naming_the_field(client, sim, tool, field):
    message = _refused(client, sim, "invalid_tool_schema", model="p-openai_compat", messages=HI, tools=[tool])
    assert message.startswith(field), message


def test_schema_keyword_vertex_cannot_carry_is_refused_by_name(client, sim):
    tool = {"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"x": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}}}}
    message = _refused(client, sim, "invalid_tool_schema", model="p-vertex", messages=HI, tools=[tool])
    assert "'oneOf'" in message and "properties/x/oneOf" in message and "dep-vertex" in message
    client.chat.completions.create(model="p-openai_compat", messages=HI, tools=[tool])  # native: accepted


def test_tool_message_without_a_matching_call(client, sim):
    turns = HI + [{"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {
        "name": "get_weather", "arguments": "{}"}}]}, {"role": "tool", "tool_call_id": "c2", "content": "rain"}]
    message = _refused(client, sim, "tool_call_not_found", model="p-openai_compat", messages=turns, tools=[WEATHER])
    assert message.startswith("messages[2].tool_call_id: ") and "'c2'" in message
    lone = HI + [{"role": "tool", "tool_call_id": "c9", "content": "x"}]
    _refused(client, sim, "tool_call_not_found", model="p-openai_compat", messages=lone, tools=[WEATHER])


def test_unknown_tool_choice_function(client, sim):
    message = _refused(client, sim, "unknown_tool_choice", model="p-openai_compat", messages=HI, tools=[WEATHER],
                       tool_choice={"type": "function", "function": {"name": "get_time"}})
    assert message.startswith("tool_choice.function.name: ") and "'get_time'" in message
