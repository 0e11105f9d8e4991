"""The engine's side of the provider protocol, on loopback, for the provider tests.

`Plugin.start()` runs the plugin as the engine does: `python provider/ ENGINE_ADDRESS` in the
plugin's folder, reading the port it prints. The same gRPC server plays the engine (the `Engine`
service: logs recorded) and the resource monitor the plugin registers children with. The monitor
hands every call to the plan harness's CapturingMonitor (the code `skyrelay plan` renders with), so
what a Construct registers compares one to one with what a Python program renders.
"""

import subprocess
import sys
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import (
    engine_pb2,
    engine_pb2_grpc,
    errors_pb2,
    provider_pb2,
    provider_pb2_grpc,
    resource_pb2,
    resource_pb2_grpc,
    status_pb2,
)

from skyrelay.plan.mocks import PlanMocks
from skyrelay.plan.monitor import CapturingMonitor
from skyrelay.plan.wire import SECRET, SIG

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIR = ROOT / "provider"
START_TIMEOUT_S = 120  # the plugin imports three cloud SDKs and infers the schema (~5 s here)
CALL_TIMEOUT_S = 600  # a Construct without `codePath` may build the Lambda zip the first time


class LoopbackMonitor(CapturingMonitor):
    """The plan's monitor, naming URNs after the stack under test (the SDK's MockMonitor reads them
    from the calling thread's Pulumi settings, which a gRPC worker thread does not have)."""

    def __init__(self, project: str, stack: str):
        super().__init__(PlanMocks())
        self.project, self.stack = project, stack

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        if parent:
            type_ = parent.split("::")[2].split("$")[-1] + "$" + type_
        return f"urn:pulumi:{self.stack}::{self.project}::{type_}::{name}"

    def stack_urn(self) -> str:
        return self.make_urn("", "pulumi:pulumi:Stack", f"{self.project}-{self.stack}")


class _MonitorService(resource_pb2_grpc.ResourceMonitorServicer):
    """The resource monitor service; the calls the plugin makes go to the capturing monitor (below)."""

    def __init__(self, monitor: LoopbackMonitor):
        self.monitor = monitor

    def SupportsFeature(self, request, context):
        return resource_pb2.SupportsFeatureResponse(hasSupport=self.monitor.SupportsFeature(request).hasSupport)

    def SignalAndWaitForShutdown(self, request, context):
        return empty_pb2.Empty()


def _delegate(method: str):
    return lambda service, request, context: getattr(service.monitor, method)(request)


for _method in ("GetDeploymentInfo", "RegisterResource", "RegisterResourceOutputs", "Invoke", "ReadResource",
                "RegisterPackage"):
    setattr(_MonitorService, _method, _delegate(_method))


@dataclass
class _EngineService(engine_pb2_grpc.EngineServicer):
    logs: list[tuple[int, str]] = field(default_factory=list)
    root: str = ""

    def Log(self, request, context):
        self.logs.append((request.severity, request.message))
        return empty_pb2.Empty()

    def GetRootResource(self, request, context):
        return engine_pb2.GetRootResourceResponse(urn=self.root)

    def SetRootResource(self, request, context):
        self.root = request.urn
        return engine_pb2.SetRootResourceResponse()


class Plugin:
    """The running plugin, the loopback engine/monitor it talks to, and a stub to call it."""

    def __init__(self, project: str = "yaml-consumer", stack: str = "dev"):
        self.monitor = LoopbackMonitor(project, stack)
        self.engine = _EngineService(root=self.monitor.stack_urn())
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        resource_pb2_grpc.add_ResourceMonitorServicer_to_server(_MonitorService(self.monitor), self.server)
        engine_pb2_grpc.add_EngineServicer_to_server(self.engine, self.server)
        self.address = f"127.0.0.1:{self.server.add_insecure_port('127.0.0.1:0')}"
        self.process: subprocess.Popen | None = None
        self.channel: grpc.Channel | None = None
        self.stub: provider_pb2_grpc.ResourceProviderStub | None = None

    def start(self, stderr_path: Path) -> "Plugin":
        self.server.start()
        self._stderr = open(stderr_path, "wb")  # noqa: SIM115 (kept open for the plugin's life)
        self.process = subprocess.Popen(
            [sys.executable, str(PLUGIN_DIR), self.address], cwd=PLUGIN_DIR, stdout=subprocess.PIPE, stderr=self._stderr
        )
        port = self.process.stdout.readline().decode().strip()
        if not port.isdigit():
            self.stop()
            raise RuntimeError(f"the plugin printed no port (got {port!r}); its stderr is in {stderr_path}")
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(self.channel).result(timeout=START_TIMEOUT_S)
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)
        return self

    def stop(self) -> None:
        if self.channel is not None:
            self.channel.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.server.stop(grace=None)
        if getattr(self, "_stderr", None):
            self._stderr.close()

    # ---- calls, as the engine makes them ----
    def plugin_info(self):
        return self.stub.GetPluginInfo(empty_pb2.Empty(), timeout=CALL_TIMEOUT_S)

    def schema(self) -> str:
        return self.stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=CALL_TIMEOUT_S).schema

    def construct(
        self, type_: str, name: str, inputs: dict[str, Any], dependencies: dict[str, list[str]] | None = None,
        config: dict[str, str] | None = None,
    ) -> provider_pb2.ConstructResponse:
        """Construct as the engine sends it in a preview: inputs as a protobuf Struct (every number
        a double), the stack as parent, each input's dependencies by URN."""
        request = provider_pb2.ConstructRequest(
            project=self.monitor.project,
            stack=self.monitor.stack,
            organization="organization",
            dryRun=True,
            parallel=8,
            monitorEndpoint=self.address,
            type=type_,
            name=name,
            parent=self.monitor.stack_urn(),
            config=config or {},
            inputs=json_format.ParseDict(inputs, struct_pb2.Struct()),
            inputDependencies={
                k: provider_pb2.ConstructRequest.PropertyDependencies(urns=urns) for k, urns in (dependencies or {}).items()
            },
        )
        return self.stub.Construct(request, timeout=CALL_TIMEOUT_S)


def secret(value: Any) -> dict[str, Any]:
    """A secret input value as the engine encodes it."""
    return {SIG: SECRET, "value": value}


def state_of(response: provider_pb2.ConstructResponse) -> dict[str, Any]:
    return json_format.MessageToDict(response.state)


def property_errors(error: grpc.RpcError) -> list[tuple[str, str]]:
    """The (property path, reason) pairs of an input-properties error the plugin answered with."""
    found = []
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                details = errors_pb2.InputPropertiesError()
                if detail.Unpack(details):
                    found += [(e.property_path, e.reason) for e in details.errors]
    return found
