"""The worker answers the keep-alive event by pinging each listed deployment once (one token, through
the Lambda worker's stdlib transport against the simulator) and never touches the job store or queue."""

from skyrelay import deployment as contract
from skyrelay.runtime.config import parse_config
from skyrelay.runtime.platforms.aws_lambda.worker import make_handler
from skyrelay.runtime.providers import stdlib_client as transport


class Untouchable:
    """A job store / queue / jobs settings that fails the test on any use."""

    def __init__(self):
        self.touched: list[str] = []

    def __getattr__(self, name):
        self.touched.append(name)
        raise AssertionError(f"the keep-alive path used {name!r}")


def test_keepalive_pings_each_deployment_without_the_job_store(sim):
    config = parse_config({
        "deployments": [
            {"name": "fast-bedrock", "model": "fast", "provider": "bedrock", "auth": "none", "endpoint": sim.base_url,
             "upstream_model": "anthropic.claude-3-haiku-20240307-v1:0"},
            {"name": "quality-bedrock", "model": "quality", "provider": "bedrock", "auth": "none",
             "endpoint": sim.base_url, "upstream_model": "anthropic.claude-3-5-sonnet-20240620-v1:0"},
        ],
        "models": {"fast": {"deployments": ["fast-bedrock"]}, "quality": {"deployments": ["quality-bedrock"]}},
    })
    store, queue, cfg = Untouchable(), Untouchable(), Untouchable()
    handle = make_handler(store, queue, None, cfg, config, ping_call=transport.call)
    result = handle(contract.keepalive_event(["quality-bedrock"]))
    assert result["keepalive"]["quality-bedrock"]["ok"] is True, result
    assert sim.total("anthropic.claude-3-5-sonnet-20240620-v1:0") == 1
    assert sim.total("anthropic.claude-3-haiku-20240307-v1:0") == 0  # not listed: not pinged
    assert store.touched == queue.touched == cfg.touched == []
    sim.set_fault("anthropic.claude-3-5-sonnet-20240620-v1:0", "503")
    failed = handle(contract.keepalive_event(["quality-bedrock", "gone"]))["keepalive"]
    assert failed["quality-bedrock"] == {"ok": False, "error": "upstream_overloaded"}
    assert failed["gone"] == {"ok": False, "error": "unknown deployment"}
    assert handle(contract.keepalive_event([])) == {"keepalive": {}}
