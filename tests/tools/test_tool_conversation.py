"""Issue 17, tool calling: the official openai client runs a two-turn tool conversation through
`skyrelay serve` on each of the four providers (simulated), streamed and not; parallel calls come back
with distinct ids."""

import json

import openai
import pytest

from tests.servekit import PRO, Serve
from tests.tools.kit import PROVIDERS, TIME, WEATHER, per_provider_config


@pytest.fixture(scope="module")
def serve(tmp_path_factory, simulator):
    tmp = tmp_path_factory.mktemp("tools")
    with Serve(tmp, per_provider_config(tmp, simulator.base_url, cache={"enabled": False})) as srv:
        yield srv


@pytest.fixture
def client(serve, sim):
    return openai.OpenAI(base_url=serve.url + "/v1", api_key=PRO, max_retries=0)


def _streamed(client, **kw):
    """A streamed completion folded as the openai docs show: (text, {index: call}, finish_reason)."""
    text, calls, finish = "", {}, None
    for chunk in client.chat.completions.create(stream=True, **kw):
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        text += choice.delta.content or ""
        for tc in choice.delta.tool_calls or ():
            call = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
            if tc.id:
                assert call["id"] is None, "a call's id comes once, on its first piece"
                call["id"] = tc.id
            if tc.function and tc.function.name:
                call["name"] += tc.function.name
            if tc.function and tc.function.arguments:
                call["arguments"] += tc.function.arguments
        finish = choice.finish_reason or finish
    return text, calls, finish


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_two_turn_tool_conversation(client, sim, provider, stream):
    model = f"p-{provider}"
    messages = [{"role": "user", "content": "what is the weather in Paris? use get_weather"}]
    if stream:
        text, calls, finish = _streamed(client, model=model, messages=messages, tools=[WEATHER])
        calls = [calls[i] for i in sorted(calls)]
    else:
        first = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER])
        msg = first.choices[0].message
        text, finish = msg.content, first.choices[0].finish_reason
        calls = [{"id": c.id, "name": c.function.name, "arguments": c.function.arguments} for c in msg.tool_calls]
    assert finish == "tool_calls" and not text
    assert len(calls) == 1 and calls[0]["name"] == "get_weather" and calls[0]["id"]
    assert json.loads(calls[0]["arguments"]) == {"city": "sim", "unit": "celsius"}  # the simulator's example

    messages += [{"role": "assistant", "content": None, "tool_calls": [
        {"id": calls[0]["id"], "type": "function", "function": {"name": "get_weather",
                                                               "arguments": calls[0]["arguments"]}}]},
                 {"role": "tool", "tool_call_id": calls[0]["id"], "content": "sunny-22C"}]
    if stream:
        text, calls2, finish = _streamed(client, model=model, messages=messages, tools=[WEATHER])
        assert not calls2
    else:
        second = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER])
        text, finish = second.choices[0].message.content, second.choices[0].finish_reason
        assert second.choices[0].message.tool_calls is None
    assert finish == "stop"
    assert text.startswith("result:") and "sunny-22C" in text  # the model saw the tool's result
    assert sim.total({"bedrock": "anthropic.claude-3-haiku-20240307-v1:0", "azure_openai": "gpt-4o",
                      "vertex": "gemini-1.5-pro", "openai_compat": "gpt-4o-mini"}[provider]) == 2


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_parallel_tool_calls_have_distinct_ids(client, provider, stream):
    kw = {"model": f"p-{provider}", "tools": [WEATHER, TIME],
          "messages": [{"role": "user", "content": "call get_weather and get_time for Oslo"}]}
    if stream:
        _, got, finish = _streamed(client, **kw)
        calls = [got[i] for i in sorted(got)]
        assert sorted(got) == [0, 1]
    else:
        done = client.chat.completions.create(**kw)
        finish = done.choices[0].finish_reason
        calls = [{"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
                 for c in done.choices[0].message.tool_calls]
    assert finish == "tool_calls"
    assert [c["name"] for c in calls] == ["get_weather", "get_time"]
    assert len({c["id"] for c in calls}) == 2 and all(c["id"] for c in calls)
    assert json.loads(calls[1]["arguments"]) == {"city": "sim"}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_tool_choice_forces_and_none_stops_calls(client, provider):
    kw = {"model": f"p-{provider}", "tools": [WEATHER, TIME], "messages": [{"role": "user", "content": "hello"}]}
    named = client.chat.completions.create(tool_choice={"type": "function", "function": {"name": "get_time"}}, **kw)
    assert [c.function.name for c in named.choices[0].message.tool_calls] == ["get_time"]
    required = client.chat.completions.create(tool_choice="required", **kw)
    assert [c.function.name for c in required.choices[0].message.tool_calls] == ["get_weather"]
    auto = client.chat.completions.create(**kw)
    assert auto.choices[0].message.tool_calls is None and auto.choices[0].message.content
    if provider != "bedrock":  # Converse has no "none" (refused: tests/tools/test_bad_input.py)
        kw["messages"] = [{"role": "user", "content": "get_weather please"}]
        none = client.chat.completions.create(tool_choice="none", **kw)
        assert none.choices[0].message.tool_calls is None
