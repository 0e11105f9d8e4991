"""Issue 17, embeddings: `client.embeddings.create` through `skyrelay serve` on each provider (simulated:
Titan v2 and Cohere on Bedrock, Azure OpenAI, Vertex text-embedding-005, OpenAI-compatible), with
batching by the provider's limit, the exact cache (a second identical call costs nothing upstream),
cost, TPM by input tokens, failover and metrics."""

import urllib.request

import openai
import pytest

from skyrelay.runtime.simulator.wire_embeddings import vector
from tests.servekit import FREE, PRO, Serve
from tests.tools.kit import EMBEDDERS, per_provider_config

METRICS_KEY = "sk-demo-metrics"
DIMS = {"bedrock": 256, "bedrock-cohere": None, "azure_openai": 64, "vertex": 64, "openai_compat": 64}
SIZE = {"bedrock": 256, "bedrock-cohere": 1024, "azure_openai": 64, "vertex": 64, "openai_compat": 64}


@pytest.fixture(scope="module")
def serve(tmp_path_factory, simulator):
    tmp = tmp_path_factory.mktemp("emb")
    cfg = per_provider_config(tmp, simulator.base_url)
    for name, provider, upstream in (("fo-a", "azure_openai", "emb-primary"), ("fo-b", "openai_compat", "emb-second")):
        base = next(d for d in cfg["deployments"] if d["name"] == f"emb-{provider}")
        cfg["deployments"].append({**base, "name": name, "model": "embed", "upstream_model": upstream})
    cfg["models"]["embed"] = {"deployments": ["fo-a", "fo-b"]}
    with Serve(tmp, cfg) as srv:
        yield srv


@pytest.fixture
def client(serve, sim):
    return openai.OpenAI(base_url=serve.url + "/v1", api_key=PRO, max_retries=0)


def _texts(n: int, tag: str) -> list[str]:
    return [f"{tag} text number {i}" for i in range(n)]


@pytest.mark.parametrize("kind", list(EMBEDDERS))
def test_embeddings_on_each_provider_batched_by_its_limit(client, sim, kind):
    n = {"bedrock": 5, "bedrock-cohere": 100, "vertex": 300, "azure_openai": 300, "openai_compat": 300}[kind]
    texts = _texts(n, kind)
    kw = {"dimensions": DIMS[kind]} if DIMS[kind] else {}
    raw = client.embeddings.with_raw_response.create(model=f"e-{kind}", input=texts, **kw)  # base64 by default
    assert raw.headers["x-skyrelay-deployment"] == f"emb-{kind}"
    out = raw.parse()
    assert [d.index for d in out.data] == list(range(n))
    for i in (0, n - 1):
        assert out.data[i].embedding == pytest.approx(vector(texts[i], SIZE[kind]), abs=1e-6)
    assert out.usage.prompt_tokens == out.usage.total_tokens == 4 * n  # 4 words each
    calls = {"bedrock": 5, "bedrock-cohere": 2, "vertex": 2, "azure_openai": 1, "openai_compat": 1}[kind]
    assert sim.total(EMBEDDERS[kind]) == calls  # Titan: 1 text per call; Cohere 96; Vertex 250; OpenAI 2,048
    floats = client.embeddings.create(model=f"e-{kind}", input=texts[0], encoding_format="float", **kw)
    assert floats.data[0].embedding == pytest.approx(vector(texts[0], SIZE[kind]), abs=1e-6)


def test_what_each_provider_was_asked_for(client, sim):
    for kind in EMBEDDERS:
        client.embeddings.create(model=f"e-{kind}", input=["a b", "c"],
                                 **({"dimensions": DIMS[kind]} if DIMS[kind] else {}))
    bodies = {r["model"]: r["body"] for r in sim.requests()}
    assert bodies["amazon.titan-embed-text-v2:0"] == {"inputText": "c", "normalize": True, "dimensions": 256}
    assert bodies["cohere.embed-english-v3"] == {"texts": ["a b", "c"], "input_type": "search_document"}
    assert bodies["text-embedding-005"] == {"instances": [{"content": "a b"}, {"content": "c"}],
                                           "parameters": {"outputDimensionality": 64}}
    openai_body = next(r["body"] for r in sim.requests() if r["provider"] == "openai_compat")
    assert openai_body == {"input": ["a b", "c"], "encoding_format": "base64", "model": "text-embedding-3-small",
                           "dimensions": 64}  # as the openai SDK asks: one string per vector


def test_second_identical_call_is_cached_and_free(serve, client, sim):
    texts = _texts(3, "cache")
    first = client.embeddings.with_raw_response.create(model="e-openai_compat", input=texts, dimensions=64)
    again = client.embeddings.with_raw_response.create(model="e-openai_compat", input=texts, dimensions=64)
    assert sim.total("text-embedding-3-small") == 1
    assert again.headers.get("x-skyrelay-cache") == "hit" and "x-skyrelay-cache" not in first.headers
    assert again.parse().data[2].embedding == first.parse().data[2].embedding
    other = client.embeddings.create(model="e-openai_compat", input=texts, dimensions=32)  # not the same request
    assert len(other.data[0].embedding) == 32 and sim.total("text-embedding-3-small") == 2


def test_cost_and_tokens_in_metrics(serve, client, sim):
    client.embeddings.create(model="e-vertex", input=_texts(10, "metric"), dimensions=8)
    req = urllib.request.Request(serve.url + "/metrics", headers={"authorization": f"Bearer {METRICS_KEY}"})
    text = urllib.request.urlopen(req, timeout=10).read().decode()
    tokens = [line for line in text.splitlines() if line.startswith("skyrelay_tokens_total")
              and 'deployment="emb-vertex"' in line and 'kind="input"' in line]
    cost = [line for line in text.splitlines() if line.startswith("skyrelay_cost_total")
            and 'deployment="emb-vertex"' in line]
    assert tokens and float(tokens[0].rsplit(" ", 1)[1]) >= 40
    used = float(tokens[0].rsplit(" ", 1)[1])
    assert cost and float(cost[0].rsplit(" ", 1)[1]) == pytest.approx(used * 0.02 / 1000)
    attempts = [line for line in text.splitlines() if line.startswith("skyrelay_upstream_attempts_total")
                and 'deployment="emb-vertex"' in line and 'outcome="ok"' in line]
    assert attempts


def test_tpm_is_charged_by_input_tokens(serve, sim):
    free = openai.OpenAI(base_url=serve.url + "/v1", api_key=FREE, max_retries=0)  # only this test uses it
    big = ["word " * 4_000] * 5  # 20,000 input tokens (simulator words): twice the Free tier's 10,000 TPM
    raw = free.embeddings.with_raw_response.create(model="e-openai_compat", input=big, dimensions=4)
    assert int(raw.headers["x-ratelimit-limit-tokens"]) == 10_000  # a full bucket admits one request
    assert raw.parse().usage.prompt_tokens == 20_000
    with pytest.raises(openai.RateLimitError) as err:  # and those input tokens spent the bucket
        free.embeddings.create(model="e-openai_compat", input="small text", dimensions=4)
    assert err.value.body["code"] == "rate_limited"
    assert sim.total("text-embedding-3-small") == 1


def test_failover_among_embedding_deployments(client, sim):
    sim.set_fault("emb-primary", "500")
    raw = client.embeddings.with_raw_response.create(model="embed", input=["x y"], dimensions=4)
    assert raw.headers["x-skyrelay-deployment"] == "fo-b"
    assert raw.parse().data[0].embedding == pytest.approx(vector("x y", 4), abs=1e-6)
    assert sim.calls("emb-primary") == {"total": 1, "500": 1}


def test_refusals_name_what_is_missing(client, sim):
    with pytest.raises(openai.BadRequestError) as err:
        client.embeddings.create(model="e-bedrock-cohere", input="x", dimensions=256)
    assert err.value.body["code"] == "unsupported_parameter"
    assert err.value.body["message"].startswith("dimensions: ") and "emb-bedrock-cohere" in err.value.body["message"]
    with pytest.raises(openai.BadRequestError) as err:
        client.embeddings.create(model="e-bedrock", input="x", dimensions=300)  # Titan v2: 256, 512 or 1024
    assert err.value.body["code"] == "unsupported_parameter"
    with pytest.raises(openai.BadRequestError) as err:
        client.embeddings.create(model="fast", input="x")
    assert err.value.body["code"] == "unsupported_capability" and err.value.body["message"].startswith("embeddings")
    for bad, field in (([], "input"), ([1, 2], "input[0]"), ([""], "input[0]")):
        with pytest.raises(openai.BadRequestError) as err:
            client.embeddings.create(model="e-vertex", input=bad)
        assert err.value.body["code"] == "validation_error" and err.value.body["message"].startswith(field)
    with pytest.raises(openai.BadRequestError) as err:  # found by the fuzzer: it once reached the upstream
        client.embeddings.create(model="e-vertex", input="x", dimensions=631668316710782336)
    assert err.value.body["code"] == "validation_error" and err.value.body["message"].startswith("dimensions")
    assert sim.calls()["total"] == 0
