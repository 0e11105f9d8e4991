"""Azure Functions cold start of the job worker: cold import of the Function App + the first invocation
of its Service Bus trigger, in a fresh interpreter, against loopback peers (cosmosdb-server, the
in-project Service Bus peer, the provider simulator; the store peer warmed first, as the managed
service is: coldstart.warm_store), beside a bare interpreter measured in the same run, interleaved,
so a loaded machine moves both.

    .venv/bin/python bench/functions_cold.py [--runs 5] [--json] [--importtime] [--from package|sources]

What a run measures (the child): `import skyrelay.runtime.platforms.azure_functions.function_app`
(what the Python worker does when it indexes the app: azure.functions and the runtime's cold
modules), then the `interactive` trigger function on one message the bench's host received from the
Service Bus peer: bootstrap from the app settings, the Cosmos read and the two conditional writes
(claim, complete), the provider call to the simulator, and the return (the host completes the
message: the function makes no Service Bus call on this path). A second message measures the warm
invocation. Target: cold import + first invocation <= 250 ms on this machine.

What the child runs (`--from`): `package` (the default) is the Functions zip as deployed
(components/azure/packaging.py: its wheels, pre-parsed data and bytecode), extracted and alone on
the child's path (`python -S`, PYTHONPATH = the extracted zip, nothing from the venv), as on Flex;
`sources` is the venv's installed sources and their cached bytecode.

In production the Functions host's Python worker has already imported azure.functions (and grpc)
before it indexes the app; `functions_import_ms` (the azure.functions import alone, measured in the
same child first) is reported so that part can be told apart, and `total_without_functions_ms` is
the total less that import.
"""

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import coldstart
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = coldstart.CHILD_HEAD + r"""
import azure.functions
tf = time.perf_counter()
from skyrelay.runtime.platforms.azure_functions import function_app
t1 = time.perf_counter()
from azure.functions.servicebus import ServiceBusMessage
import datetime

def message(doc):
    return ServiceBusMessage(body=doc["body"].encode(), message_id=doc["message_id"], delivery_count=doc["delivery_count"],
                             lock_token=doc["lock_token"], application_properties=doc["props"], user_properties=doc["props"],
                             enqueued_time_utc=datetime.datetime.fromtimestamp(doc["enqueued"], datetime.timezone.utc))

fn = {f.get_function_name(): f.get_user_function() for f in function_app.app.get_functions()}["interactive"]
loop = asyncio.new_event_loop()
t1b = time.perf_counter()
loop.run_until_complete(fn(message(json.load(open(sys.argv[1])))))
t2 = time.perf_counter()
c2 = time.process_time()
loop.run_until_complete(fn(message(json.load(open(sys.argv[2])))))
t3 = time.perf_counter()
print(json.dumps({"functions_import_ms": (tf - t0) * 1000, "import_ms": (t1 - t0) * 1000,
                  "invoke_ms": (t2 - t1b) * 1000, "total_ms": (t2 - t0) * 1000,
                  "total_without_functions_ms": (t2 - tf) * 1000, "warm_ms": (t3 - t2) * 1000,
                  "cpu_ms": (c2 - c0) * 1000}))
"""


def app_settings(sim_url: str, cosmos_url: str, container: str, bus, queues: dict) -> dict:
    from skyrelay import deployment as contract
    from tests import peers
    from tests.contracts.azure_adapters import DATABASE

    raw = yaml.safe_load((ROOT / "examples" / "local.yaml").read_text())
    for d in raw["deployments"]:
        d["endpoint"] = sim_url
    raw.pop("jobs", None)
    raw["limiter"] = {"backend": "cosmos"}  # as deployed: the shared limiter in the job container
    return {contract.CONFIG_JSON: json.dumps(raw), contract.COSMOS_ENDPOINT: cosmos_url,
            contract.COSMOS_DATABASE: DATABASE, contract.COSMOS_CONTAINER: container,
            contract.COSMOS_EMULATOR_KEY: peers.COSMOS_EMULATOR_KEY,
            contract.SERVICEBUS_EMULATOR_CONNECTION: bus.connection_string, contract.MAX_RECEIVE_COUNT: "5",
            **{contract.queue_name(p): q for p, q in queues.items()}}


class Host:
    """The bench's Functions host: submits a job, receives its message, completes it after the run."""

    def __init__(self, container: str, queues: dict):
        from tests import peers
        from tests.contracts.azure_adapters import FunctionsHost, cosmos_on, servicebus_producer

        self.loop = asyncio.new_event_loop()
        self.store = cosmos_on(container)
        self.producer = servicebus_producer(queues, 5)
        self.host = self.loop.run_until_complete(FunctionsHost(peers.servicebus(), queues).open())

    def message(self, path: Path) -> str:
        async def go():
            job = coldstart.cold_job()
            await self.store.create(job)
            await self.producer.enqueue(job.id)
            ((_, m),) = await self.host.receive(1, 10)
            return m

        m = self.loop.run_until_complete(go())
        path.write_text(json.dumps({"body": m.get_body().decode(), "message_id": m.message_id,
                                    "delivery_count": m.delivery_count, "lock_token": m.lock_token,
                                    "props": m.application_properties, "enqueued": m.enqueued_time_utc.timestamp()}))
        return m.lock_token

    def settle(self, lock_token: str) -> None:
        self.loop.run_until_complete(self.host.settle(lock_token, abandon=False))

    def close(self) -> None:
        self.loop.run_until_complete(self.host.close())
        self.loop.run_until_complete(self.producer.close())
        self.loop.run_until_complete(self.store.close())


def package_dir(work: Path) -> Path:
    """The Functions zip (azure-dev's host settings) extracted, as the child's only import root."""
    import zipfile

    from skyrelay.components.azure.packaging import build_functions_zip

    root = work / "package"
    zipfile.ZipFile(build_functions_zip(120, 16, 60)).extractall(root)
    return root


def main() -> int:
    ap = coldstart.parser()
    ap.add_argument("--from", dest="source", choices=("package", "sources"), default="package")
    args = ap.parse_args()

    from skyrelay.runtime.simulator.launch import start_in_thread
    from tests import peers
    from tests.contracts.azure_adapters import fresh_container, servicebus_queues

    sim_url, stop_sim = start_in_thread(port=0)
    work = Path(tempfile.mkdtemp(prefix="functions-cold-"))
    host = None
    try:
        cosmos_url, bus = peers.cosmos(), peers.servicebus()
        container = asyncio.run(fresh_container("bench"))
        queues = servicebus_queues(max_receives=5)
        env = {**os.environ, **app_settings(sim_url, cosmos_url, container, bus, queues),
               "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop("PYTHONPATH", None)
        flags: list[str] = []
        if args.source == "package":
            env["PYTHONPATH"], env["AzureWebJobsScriptRoot"] = str(package_dir(work)), str(work / "package")
            flags = ["-S"]  # the zip alone: a module it lacks fails the run instead of coming from the venv
        (work / "child.py").write_text(CHILD)
        host = Host(container, queues)
        host.loop.run_until_complete(coldstart.warm_store(host.store))
        bare, runs = [], []
        for i in range(args.runs):
            bare.append(coldstart.bare_ms(sys.executable, env))
            tokens = [host.message(work / f"m{i}-{n}.json") for n in (1, 2)]
            out = subprocess.run([sys.executable, *flags, str(work / "child.py"), str(work / f"m{i}-1.json"),
                                  str(work / f"m{i}-2.json")], env=env, capture_output=True, text=True, cwd=str(work))
            runs.append(coldstart.child_result(out))
            for token in tokens:
                host.settle(token)
        report = {**coldstart.head(args.runs, bare), "from": args.source,
                  **coldstart.summarize(runs, ("functions_import_ms", "import_ms", "invoke_ms", "total_ms",
                                                "total_without_functions_ms", "warm_ms", "cpu_ms"))}
        if args.importtime:
            tokens = [host.message(work / f"it-{n}.json") for n in (1, 2)]
            out = subprocess.run([sys.executable, *flags, "-X", "importtime", str(work / "child.py"), str(work / "it-1.json"),
                                  str(work / "it-2.json")], env=env, capture_output=True, text=True, cwd=str(work))
            for token in tokens:
                host.settle(token)
            report["slowest_imports_cumulative_ms"] = coldstart.slowest_imports(out.stderr)
        return coldstart.finish(report, args.json, (
            f"worker (Service Bus trigger, from the {args.source}): cold import {report['import_ms_median']} ms (of which azure.functions "
            f"{report['functions_import_ms_median']} ms) + first invocation {report['invoke_ms_median']} ms = "
            f"{report['total_ms_median']} ms median (max {report['total_ms_max']} ms, CPU "
            f"{report['cpu_ms_median']} ms); without the azure.functions import (the host's worker has it) "
            f"{report['total_without_functions_ms_median']} ms; warm invocation {report['warm_ms_median']} ms"))
    finally:
        if host is not None:
            host.close()
        stop_sim()


if __name__ == "__main__":
    sys.exit(main())
