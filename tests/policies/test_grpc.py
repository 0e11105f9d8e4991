"""The pack serves the real CrossGuard protocol: started the way the engine starts a Python policy
pack (`python -m pulumi.policy ENGINE_ADDRESS policies/`), it prints its port, announces every
rule through GetAnalyzerInfo and judges a resource sent over gRPC."""

import subprocess
import sys
from concurrent import futures

import grpc
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import engine_pb2_grpc

from tests.conftest import ROOT


class FakeEngine(engine_pb2_grpc.EngineServicer):
    """Enough of the engine for a plugin to log to."""

    def __init__(self):
        self.logs = []

    def Log(self, request, context):
        self.logs.append(request.message)
        return empty_pb2.Empty()


@pytest.fixture(scope="module")
def analyzer():
    engine = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    engine_pb2_grpc.add_EngineServicer_to_server(FakeEngine(), engine)
    engine_port = engine.add_insecure_port("127.0.0.1:0")
    engine.start()
    pack = subprocess.Popen(
        [sys.executable, "-m", "pulumi.policy", f"127.0.0.1:{engine_port}", str(ROOT / "policies")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        line = pack.stdout.readline().decode().strip()
        assert line.isdigit(), f"pack printed {line!r}; stderr: {pack.stderr.read1().decode() if pack.poll() is not None else ''}"
        channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield proto.AnalyzerStub(channel)
        channel.close()
    finally:
        pack.kill()
        pack.wait(timeout=10)
        engine.stop(0)


def test_every_rule_is_announced(analyzer):
    from skyrelay.policies.registry import rules

    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    assert info.name == "skyrelay"
    announced = {p.name: p for p in info.policies}
    assert set(announced) == set(rules())
    for rule in rules().values():
        policy = announced[rule.id]
        assert policy.remediation_steps == rule.remediation
        assert "exemptions" in policy.configSchema.properties
        assert all(f"checkov:{c}" in policy.tags for c in rule.checkov)


def test_a_resource_is_judged_over_grpc(analyzer):
    analyzer.Configure(proto.ConfigureAnalyzerRequest(), timeout=30)
    request = proto.AnalyzeRequest(
        type="aws:sqs/queue:Queue", urn="urn:pulumi:dev::p::aws:sqs/queue:Queue::q", name="q"
    )
    request.properties.update({"tags": {"cost-center": "a", "environment": "b", "team": "c"}})
    response = analyzer.Analyze(request, timeout=30)
    assert [d.policyName for d in response.diagnostics] == ["aws-sqs-encryption"]
    assert response.diagnostics[0].enforcementLevel == proto.MANDATORY
