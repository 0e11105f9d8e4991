"""Defect 1 of issue 9 (JSON nested 255-1,024 levels deep was a 500 on /v1/jobs) and the minor item
"chat silently ignores n, tools, ...": one nesting limit and one parameter check at parse for chat and
jobs, through `skyrelay serve` and the official openai client."""

import openai
import pytest

from skyrelay.runtime.parse import MAX_DEPTH
from tests.servekit import PRO, Serve, example_config, http

AUTH = {"authorization": f"Bearer {PRO}"}
MSG = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def serve(tmp_path_factory, simulator):
    tmp = tmp_path_factory.mktemp("params")
    with Serve(tmp, example_config(tmp, simulator.base_url)) as srv:
        yield srv


def nested(depth: int):
    """A value whose innermost list is `depth` containers deep (counting the outermost)."""
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def deep(depth: int) -> bytes:
    """JSON text of a list `depth` containers deep (orjson cannot even encode it past 254)."""
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("depth", [255, 600, 1020])  # + the body around it: up to 1,024, orjson's parse limit
def test_deep_json_is_a_400_naming_the_field_on_jobs_and_chat(serve, depth):
    message = b'{"role": "user", "content": "x", "extra": ' + deep(depth) + b"}"
    cases = [("/v1/jobs", b'{"model": "fast", "prompt": "x", "metadata": {"k": ' + deep(depth) + b"}}", "metadata"),
             ("/v1/jobs", b'{"model": "fast", "messages": [' + message + b"]}", "messages[0].extra"),
             ("/v1/chat/completions", b'{"model": "fast", "messages": [' + message + b"]}", "messages[0].extra")]
    for path, body, field in cases:
        status, _, doc = http("POST", serve.url + path, body, AUTH)
        assert status == 400, (path, status, doc)
        assert doc["error"]["code"] == "nesting_too_deep", doc
        assert doc["error"]["message"].startswith(f"{field}: "), doc
    status, _, _ = http("GET", serve.url + "/healthz")
    assert status == 200


def test_nesting_up_to_the_limit_is_accepted_and_stored(serve):
    # body (1) > metadata (2) > k (3) ... : the deepest container sits at MAX_DEPTH
    body = {"model": "fast", "prompt": "x", "metadata": {"k": nested(MAX_DEPTH - 2)}}
    status, _, doc = http("POST", serve.url + "/v1/jobs", body, AUTH)
    assert status == 202, doc
    status, _, job = http("GET", f"{serve.url}/v1/jobs/{doc['id']}", headers=AUTH)
    assert status == 200 and job["metadata"] == body["metadata"]
    status, _, doc = http("POST", serve.url + "/v1/jobs", {**body, "metadata": {"k": nested(MAX_DEPTH - 1)}}, AUTH)
    assert (status, doc["error"]["code"]) == (400, "nesting_too_deep")


UNSUPPORTED = [("n", 2), ("tools", [{"type": "function", "function": {"name": "f", "parameters": {}}}]),
               ("tool_choice", "required"), ("response_format", {"type": "json_object"}), ("logprobs", True),
               ("seed", 7), ("presence_penalty", 0.5)]
# What chat refuses too (issue 17 honours tools, tool_choice, response_format, seed, n and logprobs on chat; jobs and
# batch lines, whose result carries no tool calls, still refuse them).
CHAT_REFUSES = ("presence_penalty",)  # n, logprobs: served by fast-openai (native); jobs refuse them


@pytest.mark.parametrize(("name", "value"), UNSUPPORTED)
def test_a_parameter_the_router_does_not_honour_is_refused_by_name_on_chat_and_jobs(serve, simulator, name, value):
    client = openai.OpenAI(base_url=serve.url + "/v1", api_key=PRO, max_retries=0)
    before = simulator.calls()["total"]
    for stream in (False, True) if name in CHAT_REFUSES else ():
        with pytest.raises(openai.BadRequestError) as err:
            client.chat.completions.create(model="fast", messages=MSG, stream=stream, extra_body={name: value})
        assert err.value.body["code"] == "unsupported_parameter", err.value.body
        assert err.value.body["message"].startswith(f"{name}: ")
    status, _, doc = http("POST", serve.url + "/v1/jobs", {"model": "fast", "prompt": "x", name: value}, AUTH)
    assert (status, doc["error"]["code"]) == (400, "unsupported_parameter"), doc
    assert doc["error"]["message"].startswith(f"{name}: ")
    assert simulator.calls()["total"] == before


def test_values_that_ask_for_nothing_are_accepted(serve):
    client = openai.OpenAI(base_url=serve.url + "/v1", api_key=PRO, max_retries=0)
    done = client.chat.completions.create(model="fast", messages=MSG, n=1, logprobs=False, presence_penalty=0,
                                          frequency_penalty=0.0, extra_body={"tools": None, "seed": None},
                                          extra_headers={"x-skyrelay-cache": "off"})
    assert done.choices[0].message.content
    status, _, doc = http("POST", serve.url + "/v1/jobs", {"model": "fast", "prompt": "x", "n": 1}, AUTH)
    assert status == 202, doc
    status, _, doc = http("POST", serve.url + "/v1/jobs", {"model": "fast", "prompt": "x", "stream": True}, AUTH)
    assert (status, doc["error"]["code"]) == (400, "unsupported_parameter")  # jobs do not stream
