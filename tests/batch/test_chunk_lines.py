"""The two shortcuts the batch build path takes (bench/batch.py) keep their meaning:
- a chunk line carries `ChatRequest.to_compact_doc` (defaults left out): `from_doc` gives back the same
  request, falsy values that differ from a default (temperature 0, stop [], n 1) included;
- `load_json` skips its nesting walk only when the brackets cannot reach MAX_DEPTH: the limit holds
  exactly, and brackets inside strings never make a shallow body fail."""

import orjson
import pytest

from skyrelay.runtime.canonical import ChatRequest, Message
from skyrelay.runtime.errors import NestingTooDeep
from skyrelay.runtime.parse import MAX_DEPTH, load_json, parse_chat

REQUESTS = [
    ChatRequest("fast", [Message("user", "hi")]),
    ChatRequest("fast", [Message("system", "s", cache_hint=True), Message("user", "")], 64, temperature=0,
                top_p=1, stop=[], stream=False, user="", extra={"k": 0}, max_tokens_field="max_completion_tokens",
                n=1, seed=0, logprobs=False, top_logprobs=0),
    ChatRequest("fast", [Message("assistant", "", tool_calls=[{"id": "c1", "name": "f", "arguments": "{}"}]),
                         Message("tool", "42", tool_call_id="c1", name="f")],
                tools=[{"name": "f", "description": "", "parameters": {}, "strict": False}], tool_choice="auto",
                parallel_tool_calls=False, response_format={"type": "json_object"}),
]


@pytest.mark.parametrize("request_", REQUESTS)
def test_compact_doc_reads_back_as_the_same_request(request_):
    compact = orjson.loads(orjson.dumps(request_.to_compact_doc()))
    assert ChatRequest.from_doc(compact) == request_
    assert ChatRequest.from_doc(orjson.loads(orjson.dumps(request_.to_doc()))) == request_  # stored jobs still read


def test_compact_doc_leaves_out_only_defaults():
    plain = REQUESTS[0].to_compact_doc()
    assert plain == {"model": "fast", "messages": [{"role": "user", "content": "hi"}]}
    falsy = REQUESTS[1].to_compact_doc()
    for name in ("temperature", "top_p", "stop", "user", "extra", "max_tokens_field", "n", "seed", "logprobs",
                 "top_logprobs"):
        assert name in falsy, name
    assert "stream" not in falsy and falsy["messages"][0]["cache_hint"] is True


def _nested(depth: int) -> bytes:
    return b'{"k": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


def test_nesting_limit_holds_at_the_boundary():
    assert load_json(_nested(MAX_DEPTH)) == {"k": orjson.loads(b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1))}
    with pytest.raises(NestingTooDeep) as e:
        load_json(_nested(MAX_DEPTH + 1))
    assert e.value.message.startswith("k:")


def test_brackets_inside_strings_do_not_fail_a_shallow_body():
    text = "[{" * 100
    doc = load_json(orjson.dumps({"model": "fast", "messages": [{"role": "user", "content": text}]}))
    request, _ = parse_chat(doc)
    assert request.messages[0].content == text
