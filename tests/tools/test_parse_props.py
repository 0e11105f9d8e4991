"""Issue 17, bad input never becomes a 500: for arbitrary JSON in tools, tool_choice, response_format and
tool turns, parsing either succeeds or raises a 4xx with a stable code, and a request that parses can be
translated for every provider that the router would send it to (each translator raises nothing else)."""

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skyrelay.runtime.errors import BadRequest
from skyrelay.runtime.parse import parse_chat
from skyrelay.runtime.providers.base import Upstream
from skyrelay.runtime.providers.registry import adapter_for
from skyrelay.runtime.providers.support import refused, schema_refused

json_values = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "x", "object",
                                                                                              "string", "function"]),
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.sampled_from(["type", "function", "name", "parameters", "properties",
                                                              "items", "required", "enum", "anyOf", "$ref", "id",
                                                              "arguments", "json_schema", "schema", "strict"]),
                                             inner, max_size=4), max_leaves=12)
names = st.sampled_from(["f", "g", "bad name", ""])
schemas = st.one_of(json_values, st.fixed_dictionaries({"type": st.just("object"), "properties": st.dictionaries(
    st.sampled_from(["a", "b"]), json_values, max_size=2)}))
tools = st.lists(st.one_of(json_values, st.fixed_dictionaries({
    "type": st.just("function"), "function": st.fixed_dictionaries({"name": names}, optional={
        "parameters": schemas, "description": json_values, "strict": json_values})})), max_size=3)
calls = st.lists(st.one_of(json_values, st.fixed_dictionaries({
    "id": st.sampled_from(["c1", "c2", ""]), "type": st.just("function"),
    "function": st.fixed_dictionaries({"name": names, "arguments": st.sampled_from(["{}", '{"a":1}', "{", "[]"])})})),
    max_size=2)
messages = st.lists(st.one_of(
    st.fixed_dictionaries({"role": st.just("user"), "content": st.just("hi")}),
    st.fixed_dictionaries({"role": st.sampled_from(["assistant", "user"]), "content": st.none() | st.just("t")},
                          optional={"tool_calls": st.one_of(calls, json_values)}),
    st.fixed_dictionaries({"role": st.just("tool"), "content": st.sampled_from(["ok", '{"x": 1}', ""])},
                          optional={"tool_call_id": st.one_of(st.sampled_from(["c1", "c2"]), json_values)})),
    min_size=1, max_size=4)
UPSTREAMS = [Upstream("bedrock", "m", region="us-east-1", auth="none"),
             Upstream("azure_openai", "m", endpoint="http://x", auth="none"),
             Upstream("vertex", "m", project="p", location="l", auth="none"),
             Upstream("openai_compat", "m", endpoint="http://x", auth="none")]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tools=st.one_of(st.none(), tools, json_values), choice=st.one_of(st.none(), json_values,
                                                                        st.sampled_from(["auto", "none", "required"])),
       fmt=st.one_of(st.none(), json_values, st.fixed_dictionaries({"type": st.just("json_schema"), "json_schema":
                     st.fixed_dictionaries({"name": names}, optional={"schema": schemas, "strict": json_values})})),
       msgs=messages, stream=st.booleans())
def test_parse_is_a_request_or_a_4xx_and_every_translator_takes_what_parses(tools, choice, fmt, msgs, stream):
    doc = {"model": "m", "messages": msgs, "stream": stream}
    for key, value in (("tools", tools), ("tool_choice", choice), ("response_format", fmt)):
        if value is not None:
            doc[key] = value
    try:
        request, _ = parse_chat(orjson.loads(orjson.dumps(doc)))
    except BadRequest as exc:
        assert exc.status == 400 and exc.code in ("validation_error", "invalid_tool_schema", "tool_call_not_found",
                                                  "unknown_tool_choice", "unsupported_parameter")
        return
    for up in UPSTREAMS:
        if refused(up.provider, request) is None and schema_refused(up.provider, request) is None:
            adapter, _ = adapter_for(up.provider)
            call = adapter.build(up, request, stream)
            assert isinstance(orjson.loads(call.body), dict)
