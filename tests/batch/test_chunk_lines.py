"""The two shortcuts the batch build path takes (bench/batch.py) keep their meaning:
- a chunk line carries `ChatRequest.to_compact_doc` (defaults left out): `from_doc` gives back the same
  request, falsy values that differ from a default (temperature 0, stop [], n 1) included;
- `load_json` skips its nesting walk only when the brackets cannot reach MAX_DEPTH: the limit holds
  exactly, and brackets inside strings never make a shallow body fail;
- model access is decided once per model: every later line is still checked in full."""

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


def _file(tmp_path, lines: list[dict]) -> str:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    return str(path)


def _line(i: int, model: str = "fast", **body) -> dict:
    return {"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": model, "messages": [{"role": "user", "content": "hi"}], **body}}


@pytest.mark.parametrize(("lines", "code", "message"), [
    ([_line(1), _line(2), {**_line(3), "custom_id": "r1"}], "validation_error", "line 3: custom_id: 'r1' is used twice"),
    ([_line(1), _line(2, max_tokens=2000)], "max_tokens_over_cap", "line 2: max_tokens 2000 is over the free tier cap"),
    ([_line(1), _line(2, model="big")], "model_not_allowed", "line 2: the free tier may not use model 'big'"),
    ([_line(1), _line(2, model="nope")], "model_not_found", "line 2: model 'nope' does not exist"),
])
def test_every_line_is_checked_after_its_model_was_seen(tmp_path, lines, code, message):
    """Model access is decided once per model: a later line of a model already allowed still meets its
    max_tokens cap, another model its own access check, and custom ids stay unique over the whole file."""
    from skyrelay.runtime.batch.lines import LineChecker, check_file
    from skyrelay.runtime.errors import SkyrelayError
    from skyrelay.tiers import ModelClass, TierName, default_tiers

    checker = LineChecker(default_tiers()[TierName.FREE], {"fast": ModelClass.SMALL, "big": ModelClass.LARGE}, None)
    with pytest.raises(SkyrelayError) as e:
        list(check_file(_file(tmp_path, lines), checker, 100))
    assert e.value.code == code and e.value.message.startswith(message), e.value.message
