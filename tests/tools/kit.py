"""`skyrelay serve` with one logical model per provider (`p-bedrock`, `p-azure_openai`, `p-vertex`,
`p-openai_compat`), each on the simulator and declaring tools and json_schema, plus the example models."""

import copy

import yaml

from tests.servekit import ROOT, example_config

PROVIDERS = ("bedrock", "azure_openai", "vertex", "openai_compat")
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "the city"},
                                                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                   "required": ["city", "unit"], "additionalProperties": False}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "The local time in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def per_provider_config(tmp_path, sim_url: str, **sections) -> dict:
    """The example config plus one single-deployment model per provider, named `p-<provider>`."""
    raw = yaml.safe_load((ROOT / "examples" / "local.yaml").read_text())
    by_provider = {d["provider"]: d for d in raw["deployments"]}
    deployments, models = [], {}
    for kind in PROVIDERS:
        d = copy.deepcopy(by_provider[kind])
        d.pop("batch", None)
        d.update(name=f"dep-{kind}", model=f"p-{kind}", model_class="small")
        deployments.append(d)
        models[f"p-{kind}"] = {"deployments": [d["name"]]}
    cfg = example_config(tmp_path, sim_url, **sections)
    for kind, upstream_model in EMBEDDERS.items():
        d = copy.deepcopy(by_provider[kind.split("-")[0]])
        d.pop("batch", None)
        d.update(name=f"emb-{kind}", model=f"e-{kind}", model_class="small", upstream_model=upstream_model,
                 capabilities=["embeddings"], price={"input": 0.02, "output": 0.0})
        deployments.append(d)
        models[f"e-{kind}"] = {"deployments": [d["name"]]}
    for d in deployments:
        d["endpoint"] = sim_url
    cfg["deployments"] = cfg["deployments"] + deployments
    cfg["models"] = {**cfg["models"], **models}
    return cfg


# embedding deployments (`e-<kind>`): one per provider, and Cohere beside Titan on Bedrock
EMBEDDERS = {"bedrock": "amazon.titan-embed-text-v2:0", "bedrock-cohere": "cohere.embed-english-v3",
             "azure_openai": "text-embedding-3-small", "vertex": "text-embedding-005",
             "openai_compat": "text-embedding-3-small"}
