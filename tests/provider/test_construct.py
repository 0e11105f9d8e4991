"""Construct over the provider protocol: the YAML example's components register exactly what the
same program in Python renders through `skyrelay plan`; numbers sent as floats reach the
component as the integers it checks for; bad inputs fail with the component's own key-naming
error."""

import json
import re

import grpc
import pytest
import yaml
from pulumi.provider.experimental.component import ComponentProvider

from skyrelay.components.aws import AsyncJobs
from skyrelay.errors import ConfigError
from tests.provider.loopback import ROOT, Plugin, property_errors, secret, state_of

EXAMPLE = ROOT / "examples" / "yaml-consumer" / "Pulumi.yaml"
TWIN = ROOT / "tests" / "provider" / "yaml_twin"
REFERENCE = re.compile(r"^\$\{(\w+)\.(\w+)\.(\w+)\}$")


def registrations(resources) -> dict[str, dict]:
    return {
        r.urn: {"type": r.type, "parent": r.parent, "custom": r.custom, "provider": r.provider, "inputs": r.inputs,
                "dependencies": r.dependencies, "property_dependencies": r.property_dependencies}
        for r in resources
    }


def construct_example(plugin: Plugin) -> dict[str, dict]:
    """Constructs the YAML example's resources in order, as the engine would for `pulumi preview`:
    a `${resource.output.attribute}` input is that resource's registered value, with its URN as
    the input's dependency."""
    states = {}
    for name, spec in yaml.safe_load(EXAMPLE.read_text())["resources"].items():
        inputs, dependencies = {}, {}
        for key, value in spec["properties"].items():
            ref = REFERENCE.match(value) if isinstance(value, str) else None
            if ref:
                resource, output, attribute = ref.groups()
                urn = states[resource][output]["urn"]
                value = plugin.monitor.resources[urn].state[attribute]
                dependencies[key] = [urn]
            inputs[key] = value
        states[name] = state_of(plugin.construct(spec["type"], name, inputs, dependencies))
    return states


def test_construct_registers_what_the_python_program_renders(render_program, tmp_path):
    rendered = registrations(render_program(TWIN, {}, stack="dev", project="yaml-consumer").resources)
    plugin = Plugin().start(tmp_path / "stderr.log")
    try:
        states = construct_example(plugin)
    finally:
        plugin.stop()
    constructed = registrations(plugin.monitor.planned)
    assert sorted(constructed) == sorted(rendered)
    assert [urn for urn in rendered if constructed[urn] != rendered[urn]] == []
    # What the comparison covers: both components and their children, with the YAML's inputs.
    types = {r["type"] for r in constructed.values()}
    assert {"skyrelay:aws:AsyncJobs", "skyrelay:aws:CostGuard", "aws:lambda/function:Function",
            "aws:sqs/queue:Queue", "aws:dynamodb/table:Table"} <= types
    assert len(constructed) > 30
    worker = next(r for r in constructed.values() if r["type"] == "aws:lambda/function:Function")
    assert worker["inputs"]["timeout"] == 300
    assert worker["inputs"]["environment"]["variables"]["SKYRELAY_LOG_LEVEL"] == "info"
    topic_arn = constructed[states["guard"]["topic"]["urn"]]["inputs"].get("arn") or \
        plugin.monitor.resources[states["guard"]["topic"]["urn"]].state["arn"]
    alarms = [r for r in constructed.values() if r["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm"]
    assert alarms and all(a["inputs"]["alarmActions"] == [topic_arn] for a in alarms)
    assert set(states["jobs"]) >= {"table", "worker", "interactiveQueueUrl", "batchQueueUrl"}


def test_integers_sent_as_floats_reach_the_component_as_integers(plugin):
    """The engine sends `workerTimeoutSeconds: 300` as the double 300.0, which the component's timeout
    check rejects as not an int; the provider's input mapping turns it back, nested overrides too."""
    plugin.construct("skyrelay:aws:AsyncJobs", "numbers", {"workerTimeoutSeconds": 300, "overrides": {"maxReceiveCount": 3}})
    worker = next(r for r in plugin.monitor.planned
                  if r.name == "numbers-worker" and r.type == "aws:lambda/function:Function")
    assert worker.request.object.fields["timeout"].number_value == 300
    variables = worker.inputs["environment"]["variables"]
    assert variables["SKYRELAY_MAX_RECEIVE_COUNT"] == "3"  # str(3.0) would be "3.0"
    queues = [r for r in plugin.monitor.planned if r.name.startswith("numbers-") and r.type == "aws:sqs/queue:Queue"]
    job_queues = [q for q in queues if "redrivePolicy" in q.inputs]
    assert sorted(q.inputs["visibilityTimeoutSeconds"] for q in job_queues) == [6 * 300, 6 * 300 + 5]
    assert all('"maxReceiveCount": 3' in q.inputs["redrivePolicy"] for q in job_queues)


def test_the_pinned_sdks_own_mapping_would_hand_the_component_a_float():
    """Why the provider maps numbers itself (pulumi 3.272): the SDK's map_input_properties converts
    the integer and then overwrites it with the float."""
    sdk = ComponentProvider([AsyncJobs], "skyrelay", version="0.0.0")
    mapped = sdk.map_inputs({"workerTimeoutSeconds": 300.0}, sdk._component_defs["AsyncJobs"])
    assert type(mapped["worker_timeout_seconds"]) is float


def python_error(tmp_path, render_program, program: str) -> str:
    """The ConfigError the Python component raises for the same mistake, rendered as `skyrelay plan` would."""
    (tmp_path / "__main__.py").write_text(program)
    with pytest.raises(ConfigError) as raised:
        render_program(tmp_path, {}, stack="dev", project="p")
    return str(raised.value)


def construct_error(plugin, token: str, name: str, inputs: dict) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        plugin.construct(token, name, inputs)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, raised.value.details()
    return raised.value


@pytest.mark.parametrize(
    ("token", "inputs", "program", "path"),
    [
        ("skyrelay:aws:AsyncJobs", {"workerTimeoutSeconds": 901},
         "from skyrelay.components.aws import AsyncJobs\nAsyncJobs('e', {'worker_timeout_seconds': 901})\n",
         "workerTimeoutSeconds"),
        ("skyrelay:aws:AsyncJobs", {"overrides": {"maxRecieveCount": 3}},
         "from skyrelay.components.aws import AsyncJobs\nAsyncJobs('e', {'overrides': {'max_recieve_count': 3}})\n",
         "overrides.maxRecieveCount"),
        ("skyrelay:aws:CostGuard", {"costCenter": "ai-platform"},
         "from skyrelay.components.aws import CostGuard\nCostGuard('e', {'cost_center': 'ai-platform'})\n",
         "budgetAmount"),
    ],
    ids=["worker-timeout-over-900", "unknown-override", "missing-budget"],
)
def test_bad_input_fails_with_the_python_components_error(plugin, tmp_path, render_program, token, inputs, program, path):
    expected = python_error(tmp_path, render_program, program)
    error = construct_error(plugin, token, "e", inputs)
    assert error.details() == expected
    assert property_errors(error) == [(path, expected)]


@pytest.mark.parametrize(
    ("inputs", "message", "path"),
    [
        ({"workerTimeoutSecs": 300},
         "AsyncJobs.workerTimeoutSecs: unknown input; known: alarmTopicArn, batch, batchingWindowSeconds,", "workerTimeoutSecs"),
        ({"workerTimeoutSeconds": "300"}, "AsyncJobs.worker_timeout_seconds: must be an integer, got '300'",
         "workerTimeoutSeconds"),
        ({"workerTimeoutSeconds": 300.5}, "AsyncJobs.worker_timeout_seconds: must be an integer, got 300.5",
         "workerTimeoutSeconds"),
        ({"overrides": {"maxReceiveCount": "three"}},
         "AsyncJobs.overrides.max_receive_count: must be an integer, got 'three'", "overrides.maxReceiveCount"),
        ({"providerSecrets": "openai"}, "AsyncJobs.provider_secrets: must be a list, got 'openai'", "providerSecrets"),
    ],
    ids=["unknown-input", "string-for-integer", "fraction-for-integer", "wrong-override-type", "string-for-list"],
)
def test_input_the_schema_does_not_allow_fails_naming_the_key(plugin, inputs, message, path):
    """What Python's TypedDict does not check at run time, the schema does: an undeclared input or a
    value of the wrong type fails before the component runs, as a ConfigError naming the key."""
    error = construct_error(plugin, "skyrelay:aws:AsyncJobs", "bad", inputs)
    assert error.details().startswith(message)
    [(got_path, reason)] = property_errors(error)
    assert got_path == path and reason == error.details()


def test_overriding_a_secure_default_warns_through_the_engine_log(plugin):
    plugin.construct("skyrelay:aws:WorkQueue", "warned", {"consumerTimeoutSeconds": 60, "overrides": {"queueTlsOnly": False}})
    warnings = [m for severity, m in plugin.engine.logs if severity == 2]  # engine_pb2.WARNING
    assert any("WorkQueue: overriding the secure default queue_tls_only=True with False" in m for m in warnings)


def test_a_secret_input_reaches_the_component_and_stays_secret(plugin):
    """`routerConfig` is marked secret: the engine sends it wrapped as a secret, the component reads
    its value (adding the generated key's digest) and the function gets it as a secret."""
    from google.protobuf import json_format

    from skyrelay import deployment
    from skyrelay.plan.wire import SECRET, SIG

    config = json.dumps({"tenants": [{"name": "acme", "tier": "professional"}]})
    plugin.construct("skyrelay:aws:JobsApi", "secretive", {"routerConfig": secret(config), "apiKeys": ["professional:ci"]})
    [function] = [r for r in plugin.monitor.planned if r.name.startswith("secretive-") and r.type == "aws:lambda/function:Function"]
    assert function.inputs["environment"]["variables"][deployment.CONFIG_JSON] == "[secret]"
    wire = json_format.MessageToDict(function.request.object)["environment"]["variables"][deployment.CONFIG_JSON]
    assert wire[SIG] == SECRET
    tenants = {t["name"]: t for t in json.loads(wire["value"])["tenants"]}
    assert tenants["acme"]["tier"] == "professional"
    assert len(tenants["professional"]["api_keys"]) == 1  # the generated key's sha256, added by the component
