"""The Azure deployment on loopback peers, as the Function App meets it: a fresh Cosmos container and
Service Bus queues, the app settings AsyncJobs writes (skyrelay/deployment.py names, set in the
process environment), the example config's deployments on the provider simulator, and the test
playing the Functions host (tests/contracts/azure_adapters.FunctionsHost).

    kit = await AzureKit.start(sim, monkeypatch, max_receives=2)
    status, headers, body = await kit.http("POST", "/v1/jobs", {...})
    await kit.run_trigger()          # host receive -> trigger function -> host complete/abandon
"""

import json
from pathlib import Path

import azure.functions as func
import orjson
import yaml

from skyrelay import deployment as contract
from skyrelay.runtime.jobs.webhooks import new_secret
from tests import peers
from tests.contracts.azure_adapters import (
    DATABASE,
    FunctionsHost,
    cosmos_on,
    fresh_container,
    servicebus_queues,
)

ROOT = Path(__file__).resolve().parents[2]
PRO = "sk-demo-pro"
FAST_UPSTREAMS = ("anthropic.claude-3-haiku-20240307-v1:0", "gpt-4o-mini")  # examples/local.yaml


def router_config(sim_url: str, **jobs) -> dict:
    """examples/local.yaml on the simulator, with what the Azure stack decides left to the deployment
    (no store/queue; the limiter is replaced by the shared Cosmos one)."""
    raw = yaml.safe_load((ROOT / "examples" / "local.yaml").read_text())
    for d in raw["deployments"]:
        d["endpoint"] = sim_url
    raw["limiter"] = {"backend": "memory"}
    raw["cache"] = {"enabled": False}
    raw["jobs"] = {"webhooks": {"allow_hosts": ["127.0.0.1/32"]},
                   "worker": {"backoff_base_s": 0.05, "backoff_max_s": 0.2}, **jobs}
    return raw


class AzureKit:
    @classmethod
    async def start(cls, sim, monkeypatch, max_receives: int = 3, lock_duration_s: float = 30.0, worker=None,
                    edit=None, env=None, **jobs) -> "AzureKit":
        """`edit(raw)` changes the router config before it is rendered; `env` adds app settings."""
        self = cls()
        self.sim = sim
        self.container = await fresh_container()
        self.queues = servicebus_queues(max_receives, lock_duration_s)
        self.secret = new_secret()
        raw = router_config(sim.base_url, **jobs)
        if edit is not None:
            edit(raw)
        self.env = {
            contract.CONFIG_JSON: json.dumps(raw),
            contract.COSMOS_ENDPOINT: peers.cosmos(), contract.COSMOS_DATABASE: DATABASE,
            contract.COSMOS_CONTAINER: self.container, contract.COSMOS_EMULATOR_KEY: peers.COSMOS_EMULATOR_KEY,
            contract.SERVICEBUS_EMULATOR_CONNECTION: peers.servicebus().connection_string,
            contract.MAX_RECEIVE_COUNT: str(max_receives), contract.WEBHOOK_SECRET: self.secret,
            **{contract.queue_name(p): q for p, q in self.queues.items()},
            **(env or {}),
        }
        for k, v in self.env.items():
            monkeypatch.setenv(k, v)
        from skyrelay.runtime.platforms.azure_functions import function_app

        self.app = function_app.make_app() if worker is None else function_app.make_app(worker=worker)
        self.functions = {f.get_function_name(): f.get_user_function() for f in self.app.get_functions()}
        self.host = await FunctionsHost(peers.servicebus(), self.queues).open()
        self.store = cosmos_on(self.container)  # the test's own view of the container
        return self

    async def http(self, method: str, path: str, body=None, key: str = PRO):
        req = func.HttpRequest(method, f"https://skyrelay-fn.azurewebsites.net{path}",
                               headers={"content-type": "application/json", "x-api-key": key},
                               body=orjson.dumps(body) if body is not None else b"")
        resp = await self.functions["api"](req, None)
        raw = resp.get_body()
        return resp.status_code, dict(resp.headers), orjson.loads(raw) if raw else None

    async def receive(self, n: int = 10, wait_s: float = 5.0):
        """What the host's receiver got: [(priority, azure.functions ServiceBusMessage)]."""
        return await self.host.receive(n, wait_s)

    async def trigger(self, priority: str, msg) -> BaseException | None:
        """Runs the trigger function on one message and does what the host does after it."""
        try:
            await self.functions[priority](msg)
            error = None
        except Exception as exc:  # the host abandons
            error = exc
        await self.host.settle(msg.lock_token, abandon=error is not None)
        return error

    async def run_trigger(self, n: int = 10, wait_s: float = 5.0) -> list:
        return [await self.trigger(p, m) for p, m in await self.receive(n, wait_s)]

    async def dead_letters(self):
        from tests.contracts.azure_adapters import servicebus_producer

        producer = servicebus_producer(self.queues, None)
        try:
            return await producer.dead_letters()
        finally:
            await producer.close()

    def fail_fast_model(self, fault: str = "500") -> None:
        """Every upstream of the `fast` model answers with `fault`."""
        for model in FAST_UPSTREAMS:
            self.sim.set_fault(model, fault)

    def counts(self, priority: str = "interactive") -> dict:
        return peers.servicebus().counts(self.queues[priority])

    async def close(self) -> None:
        state = self.app.skyrelay_state
        if "worker" in state:
            await state["worker"].close()
        if "api" in state:
            ctx = state["api"]._app.state.ctx
            await ctx.router.aclose()
            await ctx.jobs.store.close()
            await ctx.jobs.queue.close()
        await self.host.close()
        await self.store.close()
