"""Issue 17 and the exact cache: a tool-call answer comes back from the cache whole, and every parameter of
the extended surface is part of the key (two requests that differ only there never share an answer)."""

import asyncio

from skyrelay.runtime.canonical import ChatRequest, ChatResult, Message, Usage
from skyrelay.runtime.router.cache import MemoryCache, cache_key

TOOL = {"name": "f", "description": None, "parameters": {"type": "object"}, "strict": False}


def _req(**kw) -> ChatRequest:
    return ChatRequest("m", [Message("user", "hi")], **kw)


def test_tool_call_answer_round_trips_through_the_cache():
    cache = MemoryCache(60, 10)
    result = ChatResult("", Usage(3, 0, 0, 5), "tool_calls", "p", [{"id": "c1", "name": "f", "arguments": "{}"}])
    asyncio.run(cache.put("k", result))
    assert asyncio.run(cache.get("k")) == result


def test_every_extended_parameter_is_in_the_key():
    base = cache_key("t", _req())
    variants = [_req(tools=[TOOL]), _req(tools=[TOOL], tool_choice="required"),
                _req(tools=[TOOL], tool_choice={"name": "f"}), _req(tools=[TOOL], parallel_tool_calls=False),
                _req(response_format={"type": "json_object"}), _req(seed=1), _req(seed=2)]
    keys = [cache_key("t", r) for r in variants]
    assert len(set(keys + [base])) == len(variants) + 1
    turns = ChatRequest("m", [Message("user", "hi"), Message("assistant", "", tool_calls=[
        {"id": "c1", "name": "f", "arguments": "{}"}]), Message("tool", "ok", tool_call_id="c1", name="f")])
    other = ChatRequest("m", [Message("user", "hi"), Message("assistant", "", tool_calls=[
        {"id": "c1", "name": "f", "arguments": '{"a":1}'}]), Message("tool", "ok", tool_call_id="c1", name="f")])
    assert cache_key("t", turns) != cache_key("t", other)
